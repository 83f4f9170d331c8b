using Switchboard.Catalog;
using Switchboard.Config;

namespace Switchboard.Resources;

/// <summary>
/// Which resource a handler's jobs take, and how many integration credits: the catalog's
/// handler (<c>resource</c>, <c>credits</c>) joined with the live <c>resource_map</c>. A handler
/// whose resource is not in the map runs ungated (the map is the operator's list of limits).
/// </summary>
public sealed class ResourceNeeds(CatalogCache catalog, AppConfigs configs)
{
    public ResourceNeed? For(string handlerId)
    {
        if (catalog.Current.Handlers.GetValueOrDefault(handlerId) is not { Resource: { } name } handler
            || configs.Resources.Resources.GetValueOrDefault(name) is not { } spec)
        {
            return null;
        }
        return new ResourceNeed(spec, handler.Credits);
    }

    /// <summary>
    /// What a call of the handler to endpoint profile <paramref name="endpoint"/> takes: the
    /// profile's own <c>resource</c> (<c>svc_handlers.….endpoints.NAME.resource</c>) when it names
    /// one, else the handler's; credits are the handler's either way.
    /// </summary>
    public ResourceNeed? For(string handlerId, string? endpoint)
    {
        if (endpoint is null || ProfileResource(handlerId, endpoint) is not { } name)
        {
            return For(handlerId);
        }
        return configs.Resources.Resources.GetValueOrDefault(name) is { } spec ? new ResourceNeed(spec, CreditsOf(handlerId)) : null;
    }

    /// <summary>The resource a call to <paramref name="endpoint"/> is recorded under in usage: the profile's, else the handler's.</summary>
    public string? ResourceOf(string handlerId, string? endpoint) =>
        (endpoint is null ? null : ProfileResource(handlerId, endpoint)) ?? ResourceOf(handlerId);

    private string? ProfileResource(string handlerId, string endpoint) =>
        Handlers.EndpointProfiles.SettingsOf(configs.Handlers.For(handlerId), endpoint)?["resource"] is JsonValue v && v.TryGetValue<string>(out var name) ? name : null;

    /// <summary>The integration credits one call of the handler costs (counted in usage whether or not its resource is gated).</summary>
    public long CreditsOf(string handlerId) => catalog.Current.Handlers.GetValueOrDefault(handlerId)?.Credits ?? 0;

    /// <summary>
    /// What one attempt cost at the integration: the per-call credits plus the per-unit ones for
    /// the usage it recorded (<see cref="HandlerEntry.CreditsFor"/>). The gate's budget reserves
    /// the per-call part before the call; the per-unit part is known only after it.
    /// </summary>
    public long CreditsOf(string handlerId, JsonObject usage) => catalog.Current.Handlers.GetValueOrDefault(handlerId)?.CreditsFor(usage) ?? 0;

    /// <summary>The resource a handler names, gated or not (usage is recorded under it).</summary>
    public string? ResourceOf(string handlerId) => catalog.Current.Handlers.GetValueOrDefault(handlerId)?.Resource;

    /// <summary>The handlers of the live catalog that name the resource, by id.</summary>
    public List<string> HandlersOf(string resource) =>
        [.. catalog.Current.Handlers.Values.Where(h => h.Resource == resource).Select(h => h.Id).Order(StringComparer.Ordinal)];

    /// <summary>The resources that may have parked jobs (every one in the map).</summary>
    public IReadOnlyCollection<ResourceSpec> All => [.. configs.Resources.Resources.Values];
}
