using System.Text;

namespace Switchboard.Audit;

/// <summary>
/// What an audit row may say about a request's fields: everything but secrets. A field is a
/// secret by its name (a <c>~</c> key of a config, or one that names a password, key, token or
/// secret); its value becomes <see cref="Redacted"/> at any depth. A string that looks like an
/// API key or a Fernet token is redacted wherever it is, whatever its field is called.
/// Documents (a config's YAML) are never copied in: the recording points keep their size and
/// hash only.
/// </summary>
public static class AuditRedaction
{
    public const string Redacted = "[redacted]";

    public const string InvalidText = "[invalid text]";

    private static readonly HashSet<string> SecretWords = ["password", "passwd", "secret", "token", "apikey", "fernet", "credential", "credentials", "authorization", "cookie"];

    /// <summary>A <c>~</c> key, or a name with a secret word as one of its parts (<c>new_password</c>, <c>api_key</c>, but not <c>max_tokens</c>).</summary>
    public static bool IsSecretName(string name)
    {
        if (name.StartsWith('~'))
        {
            return true;
        }
        var parts = name.ToLowerInvariant().Split(['_', '-', '.', ' ']);
        return parts[^1] == "key" || parts.Any(SecretWords.Contains);
    }

    /// <summary>
    /// A value that is a secret whatever it is called: one of our API keys (<c>sb_…</c>, longer
    /// than a prefix), a Fernet token (<c>gAAAAA…</c>), an OpenAI-style key (<c>sk-…</c>), a bearer header.
    /// </summary>
    public static bool LooksSecret(string value) =>
        value.StartsWith("sb_", StringComparison.Ordinal) && value.Length > 12
        || value.StartsWith("gAAAAA", StringComparison.Ordinal)
        || value.StartsWith("sk-", StringComparison.Ordinal) && value.Length >= 20
        || value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);

    /// <summary>A row's target: an API key pasted where its prefix was asked for (<c>keys revoke</c> takes either) keeps its prefix only.</summary>
    public static string Target(string target) =>
        !LooksSecret(target) ? target : target.StartsWith("sb_", StringComparison.Ordinal) ? Users.UserStore.KeyName(target) : Redacted;

    /// <summary>A redacted deep copy of <paramref name="node"/>.</summary>
    public static JsonNode? Redact(JsonNode? node) => node switch
    {
        JsonObject o => Object(o.Select(p => (p.Key, p.Value))),
        JsonArray a => new JsonArray([.. a.Select(Redact)]),
        JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String => Text(v) is not { } s ? InvalidText : LooksSecret(s) ? Redacted : Clean(s),
        null => null,
        _ => node.DeepClone(),
    };

    /// <summary>A parsed string, or null when it holds an escaped lone surrogate (<c>"\ud800"</c>), which System.Text.Json will not read as text.</summary>
    private static string? Text(JsonValue value)
    {
        try
        {
            return value.GetValue<string>();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Form fields that hold a whole document (the panel's config editor, whose <c>~</c> values
    /// may be new secrets in clear): kept by size and hash only, as the class says.
    /// </summary>
    public static readonly IReadOnlySet<string> DocumentFields = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "yaml" };

    /// <summary>A JSON object of named values (form fields, CLI options), each redacted.</summary>
    public static JsonObject Object(IEnumerable<(string Name, JsonNode? Value)> fields)
    {
        var result = new JsonObject();
        foreach (var (name, value) in fields)
        {
            result[Clean(name)] = IsSecretName(name) ? (value is null ? null : Redacted)
                : DocumentFields.Contains(name) && value is JsonValue document ? Document(document.ToString())
                : Redact(value);
        }
        return result;
    }

    private static JsonObject Document(string text) => new()
    {
        ["chars"] = text.Length,
        ["sha256"] = Config.ConfigStore.HashOf(text),
    };

    /// <summary>
    /// The text with any lone surrogate replaced by U+FFFD: a request may carry one (<c>"\ud800"</c>),
    /// and neither the JSON writer nor PostgreSQL's UTF-8 would take it.
    /// </summary>
    public static string Clean(string text) =>
        text.Any(char.IsSurrogate) ? Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text)) : text;
}
