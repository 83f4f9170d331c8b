using System.Text.Json.Nodes;
using Switchboard.Storage;

namespace Switchboard.Config;

/// <summary>One config id as the admin API and panel list it.</summary>
/// <param name="Loaded">The version this process runs (null: the defaults), which lags the active one by at most a poll.</param>
/// <param name="Pinned">The version the bootstrap pins this process to, if any.</param>
public sealed record ConfigSummary(string Id, ConfigVersion? Active, int Versions, ConfigVersion? Latest, string? Loaded, string? Pinned)
{
    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["active_version"] = Active?.Version,
        ["versions"] = Versions,
        ["loaded_version"] = Loaded,
        ["pinned_version"] = Pinned,
        ["last_change"] = Latest is null ? null : ConfigAdmin.ToJson(Latest),
    };
}

/// <summary>
/// What the admin API and the panel do with configs: list the ids and their versions, show a
/// version with its secrets masked, diff two versions (<see cref="ConfigDiff"/>), roll back.
/// The CLI's <c>config list/show/diff/rollback</c> do the same through the same
/// <see cref="ConfigStore"/>; nothing here ever decrypts a value for display.
/// </summary>
public static class ConfigAdmin
{
    public static List<ConfigSummary> Summaries(AppConfigs configs, BootstrapConfig bootstrap)
    {
        var byId = configs.Versions.List(null).GroupBy(v => v.Id).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        return [.. byId.Keys.Union(configs.ReadIds).Order(StringComparer.Ordinal).Select(id =>
        {
            var versions = byId.GetValueOrDefault(id) ?? [];
            return new ConfigSummary(id, versions.FirstOrDefault(v => v.Active), versions.Count, versions.LastOrDefault(),
                configs.Get(id)?.Version, bootstrap.ConfigIds.GetValueOrDefault(id));
        })];
    }

    /// <summary>The stored text with every <c>~</c> value replaced by the mask.</summary>
    public static string Masked(ConfigVersion version) =>
        ConfigProtocol.Show(version.Content, ConfigDiff.Source(version), version.Id, keys: null, reveal: false);

    /// <summary>How many activations of an id the admin API and the panel show.</summary>
    public const int HistoryLimit = 50;

    /// <summary>Makes <paramref name="version"/> active again, recorded and logged with who did; false when there is no such version.</summary>
    public static bool Rollback(AppConfigs configs, string id, string version, string actor, ILogger logger)
    {
        if (!configs.Versions.Activate(id, version, actor))
        {
            return false;
        }
        logger.LogInformation("Config {Id} rolled back to version {Version} by {Actor}", id, version, actor);
        return true;
    }

    public static JsonObject ToJson(ConfigActivation a) => new()
    {
        ["version"] = a.Version,
        ["previous"] = a.Previous,
        ["action"] = a.Action,
        ["actor"] = a.Actor,
        ["at"] = Clock.Iso(a.At),
    };

    public static JsonObject ToJson(ConfigVersion v) => new()
    {
        ["version"] = v.Version,
        ["active"] = v.Active,
        ["author"] = v.Author,
        ["created_at"] = Clock.Iso(v.CreatedAt),
        ["comment"] = v.Comment,
        ["hash"] = v.Hash,
    };
}
