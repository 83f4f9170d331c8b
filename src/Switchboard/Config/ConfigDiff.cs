using System.Text;
using System.Text.Json;

namespace Switchboard.Config;

/// <summary>One difference between two versions of a config, by key path.</summary>
/// <param name="Op">"+" added, "-" removed, "~" changed, "=" a secret that did not change, "?" a secret that cannot be compared.</param>
/// <param name="Before">The old plain value (null for secrets and additions).</param>
/// <param name="After">The new plain value (null for secrets and removals).</param>
public sealed record ConfigDiffLine(string Op, string Path, string? Before, string? After, bool Secret)
{
    /// <summary>The line as <c>config diff</c> prints it.</summary>
    public string Text => (Op, Secret) switch
    {
        ("-", true) => $"- {Path}: (secret)",
        ("+", true) => $"+ {Path}: (secret)",
        ("?", _) => $"? {Path}: secret (no fernet_key to compare)",
        ("=", _) => $"= {Path}: secret unchanged",
        ("~", true) => $"~ {Path}: secret changed",
        ("-", false) => $"- {Path}: {Before}",
        ("+", false) => $"+ {Path}: {After}",
        _ => $"~ {Path}: {Before} -> {After}",
    };

    public JsonObject ToJson() => new()
    {
        ["op"] = Op,
        ["path"] = Path,
        ["before"] = Before,
        ["after"] = After,
        ["secret"] = Secret,
    };
}

/// <summary>
/// The differences between two versions of a config by key path, for <c>config diff</c>, the
/// admin API and the panel. Plain values are shown; secrets never are, only whether they
/// changed (compared decrypted, since every encryption has a fresh IV).
/// </summary>
public static class ConfigDiff
{
    public static string Source(ConfigVersion config) => $"config {config.Id}@{config.Version}";

    public static List<ConfigDiffLine> Compute(ConfigVersion a, ConfigVersion b, MultiFernet? keys)
    {
        (Dictionary<string, string> Values, HashSet<string> Secrets) Flat(ConfigVersion config)
        {
            var reading = new ConfigProtocol.Reading(config.Id, keys, mask: keys is null, keepEnv: true);
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            Flatten(ConfigProtocol.Load(config.Content, Source(config), reading), config.Id, values);
            return (values, [.. reading.SecretPaths]);
        }
        var (before, beforeSecrets) = Flat(a);
        var (after, afterSecrets) = Flat(b);
        var lines = new List<ConfigDiffLine>();
        foreach (var path in before.Keys.Union(after.Keys).Order(StringComparer.Ordinal))
        {
            var secret = beforeSecrets.Contains(path) || afterSecrets.Contains(path);
            var (had, has) = (before.TryGetValue(path, out var old), after.TryGetValue(path, out var now));
            ConfigDiffLine? line = (had, has, secret) switch
            {
                (true, false, true) => new("-", path, null, null, true),
                (false, true, true) => new("+", path, null, null, true),
                (true, true, true) when keys is null => new("?", path, null, null, true),
                (true, true, true) => new(old == now ? "=" : "~", path, null, null, true),
                (true, false, false) => new("-", path, old, null, false),
                (false, true, false) => new("+", path, null, now, false),
                _ => old == now ? null : new("~", path, old, now, false),
            };
            if (line is not null)
            {
                lines.Add(line);
            }
        }
        return lines;
    }

    private static void Flatten(JsonNode? node, string path, Dictionary<string, string> into)
    {
        switch (node)
        {
            case JsonObject obj when obj.Count > 0:
                foreach (var (key, value) in obj)
                {
                    Flatten(value, YamlJson.Child(path, key), into);
                }
                break;
            case JsonArray list when list.Count > 0:
                for (var i = 0; i < list.Count; i++)
                {
                    Flatten(list[i], $"{path}[{i}]", into);
                }
                break;
            case JsonValue value when value.TryGetValue<byte[]>(out var bytes) && !value.TryGetValue<string>(out _):
                into[path] = "bytes " + JsonSerializer.Serialize(Encoding.UTF8.GetString(bytes));
                break;
            default:
                into[path] = node?.ToJsonString() ?? "null";
                break;
        }
    }
}
