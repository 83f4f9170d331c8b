using Switchboard.Catalog;

namespace Switchboard.Admin.Panel.Components.Pages.Catalog;

/// <summary>
/// The base of the catalog's pages (offers, deals): the stored catalog, read once per request,
/// and the entries' panel paths, each segment escaped.
/// </summary>
public abstract class CatalogPage : PanelPage
{
    private CatalogSnapshot? _catalog;

    /// <summary>The catalog as stored (not the API's cached copy: a page shows what was just saved).</summary>
    protected CatalogSnapshot Catalog => _catalog ??= Load(Store);

    /// <summary>
    /// Whether this request posts a form. A page that posts to an entry it cannot find still
    /// renders the form on its first pass (the framework dispatches the POST to a form the page
    /// shows), and answers 404 from the form's handler.
    /// </summary>
    protected bool Posted => HttpMethods.IsPost(Http.Request.Method);

    /// <summary>Reads the catalog again after a change, for the page rendered after it.</summary>
    protected void Reload() => _catalog = null;

    private static CatalogSnapshot Load(Store store)
    {
        using var connection = store.Open();
        return CatalogStore.Load(connection);
    }

    public static string OfferPath(string service, string action) => $"/admin/offers/{Uri.EscapeDataString(service)}/{Uri.EscapeDataString(action)}";

    public static string DealPath(string name) => $"/admin/deals/{Uri.EscapeDataString(name)}";
}
