using Switchboard.Catalog;
using Switchboard.Config;
using Switchboard.Handlers;
using Switchboard.Recon;

namespace Switchboard.Admin.Panel.Components.Pages.Handlers;

/// <summary>An endpoint profile a handler may call: its name and host, never its key or the variable's value.</summary>
public sealed record ProfileHost(string Name, string Host);

/// <summary>A handler this process has: its origin and version (as <c>switchboard handlers list</c>), whether the catalog
/// configures it and <c>service_map</c> installs it, its profiles, what keeps its offers from running (as <c>/readyz</c>), its queue.</summary>
public sealed record InstalledHandler(
    HandlerOrigin Origin, HandlerEntry? Entry, bool Installed, IReadOnlyList<ProfileHost> Profiles, IReadOnlyList<string> Problems, QueueInfo? Queue);

/// <summary>The handlers page's view of the deployment: the installed handlers, and the executor groups with their live
/// executors and backlog, from the same <see cref="HealthProbe"/> snapshot as <c>GET /admin/api/executors</c>.</summary>
public sealed record HandlerDeployment(
    IReadOnlyList<InstalledHandler> Installed, IReadOnlyList<ExecutorGroup>? Groups, IReadOnlyList<QueueInfo>? Unserved, long AtMs)
{
    public static HandlerDeployment Of(
        HandlerRegistry registry, CatalogSnapshot catalog, AppConfigs configs, HandlerReadiness? readiness, HealthSnapshot snapshot)
    {
        var problems = (readiness?.Problems ?? []).ToLookup(p => p.Handler, p => p.Text, StringComparer.Ordinal);
        var queues = snapshot.QueuesByHandler.ToDictionary(q => q.Name, StringComparer.Ordinal);
        var installed = registry.Origins.Select(o => new InstalledHandler(
            o, catalog.Handlers.GetValueOrDefault(o.Id), configs.Services.IsInstalled(o.Id), Profiles(configs.Handlers.For(o.Id)),
            [.. problems[o.Id]], queues.GetValueOrDefault(o.Id))).ToList();
        return new HandlerDeployment(installed, snapshot.Executors is null ? null : ExecutorGroups.Of(snapshot), ExecutorGroups.Unserved(snapshot), snapshot.AtMs);
    }

    // The host a profile sends to: its base_url's authority only (a valid base_url has no user
    // info, query or fragment); "–" for one read from the environment or not valid yet.
    private static List<ProfileHost> Profiles(System.Text.Json.Nodes.JsonObject settings) =>
        [.. EndpointProfiles.Names(settings).Select(name => new ProfileHost(name,
            EndpointProfiles.SettingsOf(settings, name) is { } profile && EndpointProfiles.TryBaseUrl(profile["base_url"], out var url) ? url.Authority : "–"))];
}
