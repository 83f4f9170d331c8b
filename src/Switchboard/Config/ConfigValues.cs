using System.Globalization;
using System.Text.Json;

namespace Switchboard.Config;

/// <summary>
/// Typed reads from a loaded config, each problem added to <c>errors</c> with its key path. A
/// whole number may also be a string of digits, since <c>!ENV</c> values are strings. An error
/// names the key and what it must be, never the value found: that may be a decrypted <c>~</c>
/// secret or an environment variable's value put at the wrong key, and errors reach the CLI,
/// the logs and the admin API.
/// </summary>
public sealed class ConfigValues(JsonObject values, string path, List<string> errors)
{
    public JsonObject Values { get; } = values;

    public string Path { get; } = path;

    public List<string> Errors { get; } = errors;

    public string At(string key) => YamlJson.Child(Path, key);

    /// <summary>
    /// An <c>!ENV</c> reference read without its environment (a push checks a document before
    /// the process that loads it sets the variable): its value is checked at load.
    /// </summary>
    private static bool IsEnvReference(JsonNode node) => node is JsonValue v && v.TryGetValue<string>(out var s) && s.StartsWith("!ENV ", StringComparison.Ordinal);

    public long? Long(string key, long min, long max)
    {
        var node = Values[key];
        if (node is null || IsEnvReference(node))
        {
            return null;
        }
        long? number = node is JsonValue v
            ? v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var n) ? n
            : v.TryGetValue<string>(out var s) && long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var p) ? p
            : null
            : null;
        if (number is null)
        {
            Errors.Add($"{At(key)} must be a whole number");
            return null;
        }
        if (number < min || number > max)
        {
            Errors.Add($"{At(key)} must be between {min} and {max}");
            return null;
        }
        return number;
    }

    public string? Text(string key)
    {
        var node = Values[key];
        if (node is null || IsEnvReference(node))
        {
            return null;
        }
        if (node is JsonValue v && v.TryGetValue<string>(out var s))
        {
            return s;
        }
        Errors.Add($"{At(key)} must be a string");
        return null;
    }

    /// <summary>A duration: seconds as a number, or a number with a unit (<c>30s</c>, <c>5m</c>, <c>1h</c>, <c>1d</c>, <c>1w</c>).</summary>
    public TimeSpan? Duration(string key)
    {
        var node = Values[key];
        if (node is null || IsEnvReference(node))
        {
            return null;
        }
        var text = node is JsonValue v ? (v.TryGetValue<string>(out var s) ? s : v.ToJsonString()) : "";
        if (ParseDuration(text) is { } duration && duration > TimeSpan.Zero)
        {
            return duration;
        }
        Errors.Add($"{At(key)} must be a duration such as 30s, 5m, 1h, 1d or 1w");
        return null;
    }

    /// <summary>
    /// Seconds as a number, or a number with a unit (s, m, h, d, w). Null for anything else,
    /// including a duration no <see cref="TimeSpan"/> can hold (never an exception).
    /// </summary>
    public static TimeSpan? ParseDuration(string text)
    {
        text = text.Trim();
        if (text.Length == 0)
        {
            return null;
        }
        var unit = char.IsLetter(text[^1]) ? text[^1] : 's';
        var digits = char.IsLetter(text[^1]) ? text[..^1] : text;
        long? unitSeconds = unit switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86_400, 'w' => 604_800, _ => null };
        if (unitSeconds is not { } per || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            || (double)n * per >= TimeSpan.MaxValue.TotalSeconds)
        {
            return null;
        }
        return TimeSpan.FromSeconds((double)n * per);
    }

    /// <summary>Keys that are not in <paramref name="known"/> are errors: a typo must not silently mean "default".</summary>
    public void OnlyKnown(params string[] known)
    {
        foreach (var (key, _) in Values)
        {
            if (!known.Contains(key))
            {
                Errors.Add($"{At(key)} is not a known setting (known: {string.Join(", ", known)})");
            }
        }
    }
}
