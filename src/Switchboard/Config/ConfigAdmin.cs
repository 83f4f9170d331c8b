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

    /// <summary>What an admin's rollback did.</summary>
    public enum RollbackOutcome { Done, NoVersion, OperatorOnly }

    /// <summary>
    /// Makes <paramref name="version"/> active again for an admin (the admin API and the panel),
    /// recorded and logged with who did. Refused (<see cref="RollbackOutcome.OperatorOnly"/>) when it
    /// would change where a credential is sent or which one is used (<see cref="AdminMayActivate"/>):
    /// endpoint profiles are the operator's, whose CLI rollback has no such limit.
    /// </summary>
    public static RollbackOutcome Rollback(AppConfigs configs, BootstrapConfig bootstrap, string id, string version, string actor, ILogger logger)
    {
        if (configs.Versions.Get(id, version) is not { } target)
        {
            return RollbackOutcome.NoVersion;
        }
        if (!AdminMayActivate(configs, bootstrap, target))
        {
            return RollbackOutcome.OperatorOnly;
        }
        if (!configs.Versions.Activate(id, version, actor))
        {
            return RollbackOutcome.NoVersion;
        }
        logger.LogInformation("Config {Id} rolled back to version {Version} by {Actor}", id, version, actor);
        return RollbackOutcome.Done;
    }

    /// <summary>
    /// False when activating <paramref name="target"/> would change the <c>svc_handlers</c> endpoint
    /// profiles (hosts, credentials, variable names: <see cref="Handlers.EndpointProfiles.Routing"/>)
    /// of the active version. A version that does not open (a key is missing) counts as different.
    /// </summary>
    public static bool AdminMayActivate(AppConfigs configs, BootstrapConfig bootstrap, ConfigVersion target) =>
        KeepsEndpointProfiles(bootstrap, configs.Versions.Get(target.Id, null), target.Id, target.Content, $"config {target.Id}@{target.Version}");

    /// <summary>
    /// Whether the stored (sealed) document <paramref name="content"/> of config <paramref name="id"/>
    /// has the same endpoint profiles as <paramref name="active"/>: the one rule for an admin's
    /// rollback (<see cref="AdminMayActivate"/>) and push (<see cref="ConfigAdminPush"/>). Only
    /// <c>svc_handlers</c> holds profiles. A document that does not open counts as different.
    /// </summary>
    public static bool KeepsEndpointProfiles(BootstrapConfig bootstrap, ConfigVersion? active, string id, string content, string source)
    {
        if (id != HandlerSettings.Id)
        {
            return true;
        }
        try
        {
            SortedDictionary<string, string> Routing(string text, string from) => Handlers.EndpointProfiles.Routing(
                ConfigProtocol.Unwrap(id, ConfigProtocol.Load(text, from, new ConfigProtocol.Reading(id, bootstrap.Keys()))));
            var before = active is null ? [] : Routing(active.Content, $"config {id}@{active.Version}");
            return before.SequenceEqual(Routing(content, source));
        }
        catch (ConfigException)
        {
            return false;
        }
    }

    /// <summary>Why an admin may not make this rollback, for the admin API's problem and the panel.</summary>
    public const string OperatorOnlyReason =
        "This rollback would change where credentials are sent or which credentials are used; endpoint profiles are the operator's (`switchboard config rollback`).";

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
