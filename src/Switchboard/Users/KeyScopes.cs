namespace Switchboard.Users;

/// <summary>
/// A key's scopes: globs over what it may buy, an offer as <c>service/action</c> and a deal as
/// <c>deal:name</c> (the prefix keeps a deal and a service of the same name apart). <c>*</c>
/// matches any run of characters (slashes included), <c>?</c> one character. No scopes (null):
/// everything.
/// </summary>
public static class KeyScopes
{
    public const int MaxScopes = 50;

    public const int MaxScopeChars = 200;

    public static string Offer(string service, string action) => $"{service}/{action}";

    public static string Deal(string name) => $"deal:{name}";

    /// <summary>Whether a key with these scopes may buy <paramref name="target"/>.</summary>
    public static bool Allows(IReadOnlyList<string>? scopes, string target) =>
        scopes is null || scopes.Any(s => Matches(s, target));

    /// <summary>A scope's problem (empty, too long, a character no name has), or null.</summary>
    public static string? Problem(string scope)
    {
        if (scope.Length is 0 or > MaxScopeChars)
        {
            return $"a scope has 1 to {MaxScopeChars} characters";
        }
        return scope.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or ':' or '*' or '?' or '.' or '_' or '-' or '@' or '+')
            ? null
            : $"scope '{scope}' may hold only letters, digits and / : * ? . _ - @ +";
    }

    /// <summary>
    /// Whether every scope of a child key falls inside its parent's, so a child is never broader.
    /// Conservative: a child scope is inside when the parent has it verbatim, when it has no
    /// wildcard and a parent scope matches it, or when a parent scope is a literal prefix ending in
    /// a single <c>*</c> that the child scope starts with. A narrower child this rule cannot prove
    /// inside is refused (the caller can list names instead).
    /// </summary>
    public static bool Within(IReadOnlyList<string>? child, IReadOnlyList<string>? parent)
    {
        if (parent is null)
        {
            return true;
        }
        return child is not null && child.All(c => parent.Any(p => Inside(c, p)));
    }

    private static bool Inside(string child, string parent)
    {
        if (child == parent || parent == "*")
        {
            return true;
        }
        if (child.IndexOfAny(['*', '?']) < 0)
        {
            return Matches(parent, child);
        }
        var stem = parent[..^1];
        return parent.EndsWith('*') && stem.IndexOfAny(['*', '?']) < 0 && child.StartsWith(stem, StringComparison.Ordinal);
    }

    /// <summary>Glob match, iterative (a pattern of many stars costs at most pattern × text steps).</summary>
    public static bool Matches(string pattern, string text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t]))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }
        return p == pattern.Length;
    }
}
