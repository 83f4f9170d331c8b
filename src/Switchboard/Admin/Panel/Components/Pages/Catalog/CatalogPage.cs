using Microsoft.AspNetCore.Components;
using Switchboard.Catalog;

namespace Switchboard.Admin.Panel.Components.Pages.Catalog;

/// <summary>The base of the catalog's pages: the stored catalog, read once per request, the offer (<c>{service}/{action}</c>)
/// or deal (<c>{name}</c>) the URL names, and the entries' paths, each segment escaped.</summary>
public abstract class CatalogPage : PanelPage
{
    private CatalogSnapshot? _catalog;

    // The route's values: an offer's page has Service and Action, a deal's has Name.
    [Parameter] public string? Service { get; set; }
    [Parameter] public string? Action { get; set; }
    [Parameter] public string? Name { get; set; }

    /// <summary>The catalog as stored (not the API's cached copy: a page shows what was just saved).</summary>
    protected CatalogSnapshot Catalog => _catalog ??= CatalogStore.Load(Store);

    /// <summary>A POST to an entry that is not there still renders the form first (the framework dispatches
    /// the POST to a form the page shows); the form's handler answers 404.</summary>
    protected bool Posted => HttpMethods.IsPost(Http.Request.Method);

    // The entry the URL names: its kind, key, page, list, and whether the catalog has it.
    protected bool IsOffer => Http.Request.Path.StartsWithSegments("/admin/offers");
    protected string Kind => IsOffer ? "offer" : "deal";
    protected string Key => IsOffer ? $"{Service}/{Action}" : Name ?? "";
    protected string Entry => IsOffer ? OfferPath(Service ?? "", Action ?? "") : DealPath(Name ?? "");
    protected string Back => IsOffer ? "/admin/offers" : "/admin/deals";
    protected bool Exists => IsOffer ? Catalog.FindOffer(Service ?? "", Action ?? "") is not null : Catalog.FindDeal(Name ?? "") is not null;

    /// <summary>A new entry's key: each part given, and not an entry's already (said on the last part).</summary>
    protected static FieldErrors? NewKeyRefused(bool exists, params (string Field, string Value)[] parts)
    {
        var errors = new FieldErrors();
        foreach (var (field, _) in parts.Where(p => p.Value.Length == 0))
        {
            errors.Add(field, "is required");
        }
        return errors.Any ? errors
            : exists ? errors.Add(parts[^1].Field, $"'{string.Join('/', parts.Select(p => p.Value))}' exists already: edit it instead") : null;
    }

    public static string OfferPath(string service, string action) => $"/admin/offers/{Uri.EscapeDataString(service)}/{Uri.EscapeDataString(action)}";

    public static string DealPath(string name) => $"/admin/deals/{Uri.EscapeDataString(name)}";

    /// <summary>A deal's price rule in a few words: a fixed price, a percentage off the list, or the list price.</summary>
    public static string PriceRule(DealEntry d) =>
        d.Price is { } fixedPrice ? $"fixed {fixedPrice}" : d.PriceModifier > 0 ? $"list − {d.PriceModifier}%" : "list price";
}
