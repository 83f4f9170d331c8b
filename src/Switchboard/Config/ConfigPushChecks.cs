namespace Switchboard.Config;

/// <summary>
/// The checks of a pushed document once its <c>~</c> values are sealed, one copy for the CLI's
/// <c>config push</c> and an admin's push from the panel (<see cref="ConfigAdminPush"/>): read
/// back with its secrets open when this process has the keys (so a <c>~webhook</c> that is not a
/// URL is refused now, not when a process loads it), masked otherwise, <c>!ENV</c> references
/// kept as written; then the config's own rules (<see cref="AppConfigs.Validate"/>). The
/// messages name a bad secret's path, never its value.
/// </summary>
public static class ConfigPushChecks
{
    /// <param name="Values">The document's values (unwrapped from its id), <c>!ENV</c> values as <c>"!ENV ${VAR}"</c>.</param>
    /// <param name="Secrets">How many <c>~</c> values it holds.</param>
    public sealed record Checked(JsonObject Values, int Secrets, List<string> Problems);

    /// <summary>Throws <see cref="ConfigException"/> when the document cannot be read at all.</summary>
    public static Checked Check(string id, string stored, string source, MultiFernet? keys)
    {
        var reading = new ConfigProtocol.Reading(id, keys, mask: keys is null, keepEnv: true);
        var values = ConfigProtocol.Unwrap(id, ConfigProtocol.Load(stored, source, reading));
        return new Checked(values, reading.SecretPaths.Count, AppConfigs.Validate(id, values));
    }

    /// <summary>The <c>!ENV</c> references of values read with <c>keepEnv</c>, by key path.</summary>
    public static SortedDictionary<string, string> EnvReferences(JsonNode? values)
    {
        var found = new SortedDictionary<string, string>(StringComparer.Ordinal);
        void Walk(JsonNode? node, string path)
        {
            switch (node)
            {
                case JsonObject map:
                    foreach (var (key, value) in map)
                    {
                        Walk(value, path.Length == 0 ? key : $"{path}.{key}");
                    }
                    break;
                case JsonArray list:
                    for (var i = 0; i < list.Count; i++)
                    {
                        Walk(list[i], $"{path}[{i}]");
                    }
                    break;
                case JsonValue v when v.TryGetValue<string>(out var text) && text.StartsWith("!ENV ", StringComparison.Ordinal):
                    found[path] = text;
                    break;
            }
        }
        Walk(values, "");
        return found;
    }
}
