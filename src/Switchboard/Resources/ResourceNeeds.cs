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

    /// <summary>The resources that may have parked jobs (every one in the map).</summary>
    public IReadOnlyCollection<ResourceSpec> All => [.. configs.Resources.Resources.Values];
}
