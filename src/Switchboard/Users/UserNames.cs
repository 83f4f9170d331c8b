using System.Text.RegularExpressions;

namespace Switchboard.Users;

/// <summary>
/// The one rule for a user's name, applied wherever a name is made or changed: the admin API,
/// the panel and the CLI (through <see cref="UserStore.CheckNew"/> and <see cref="UserStore.Rename"/>).
/// A name is 1 to <see cref="MaxLength"/> ASCII letters, digits and <c>. _ @ + -</c>, starting
/// and ending with a letter or digit, without <c>..</c>: so it is safe in a URL path segment, a
/// log line, a terminal and an HTML page as it is (no <c>/</c>, whitespace, control or bidi
/// characters, no look-alike letters), and an e-mail address fits. Names are unique ignoring
/// ASCII case. Names stored before this rule keep working (keys, logins, credits) and can be
/// renamed by an admin; only new names and renames are checked.
/// </summary>
public static partial class UserNames
{
    public const int MaxLength = 64;

    public const string Rule = "name may hold only ASCII letters, digits and '.', '_', '@', '+', '-', and must start and end with a letter or digit";

    // Full match (\A…\z): '$' would also accept a trailing newline.
    [GeneratedRegex(@"\A[A-Za-z0-9](?:[A-Za-z0-9._@+-]*[A-Za-z0-9])?\z", RegexOptions.CultureInvariant)]
    private static partial Regex Allowed();

    /// <summary>What is wrong with <paramref name="name"/> as a new name (led by "name"), or null when it is fine.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return "name must not be empty";
        }
        if (name.Length > MaxLength)
        {
            return $"name is at most {MaxLength} characters";
        }
        if (name.Contains("..", StringComparison.Ordinal))
        {
            return "name must not contain '..'";
        }
        return Allowed().IsMatch(name) ? null : Rule;
    }

    public static bool IsValid(string name) => Problem(name) is null;
}
