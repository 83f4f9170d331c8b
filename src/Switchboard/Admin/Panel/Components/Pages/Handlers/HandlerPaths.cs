using Switchboard.Catalog;
using Switchboard.Storage;

namespace Switchboard.Admin.Panel.Components.Pages.Handlers;

/// <summary>The handler pages' common reads: a handler's page and the stored catalog.</summary>
public static class HandlerPaths
{
    public const string List = "/admin/handlers";

    public static string Of(string id) => $"{List}/{Uri.EscapeDataString(id)}";

    public static CatalogSnapshot Stored(Store store)
    {
        using var connection = store.Open();
        return CatalogStore.Load(connection);
    }
}
