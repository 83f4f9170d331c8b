using Switchboard.Users;

namespace Switchboard.Catalog;

/// <summary>
/// The public face of the catalog: <c>GET /svc/</c> (no key needed; deal quotes are <c>Deals/DealQuoteEndpoint</c>'s). Its
/// OpenAPI paths are added by <see cref="OpenApi.CatalogPathsTransformer"/>.
/// </summary>
public static class CatalogEndpoints
{
    /// <summary>The live snapshot every role reads (the API to sell, the executor to find a handler's resource), loaded by <c>Hosting/StoreWatcher</c>.</summary>
    public static IServiceCollection AddCatalog(this IServiceCollection services) => services.AddSingleton<CatalogCache>();

    public static IEndpointRouteBuilder MapCatalogEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/svc/", (CatalogCache catalog) => TypedResults.Ok(List(catalog.Current)))
            .WithName("list_catalog").WithTags("catalog")
            .WithSummary("The live offers, grouped by service, and the live deals (no key needed)").IsPublicInOpenApi();
        return app;
    }

    public static CatalogListing List(CatalogSnapshot catalog) => new(
        [.. catalog.LiveOffers.GroupBy(o => o.Service).OrderBy(g => g.Key, StringComparer.Ordinal).Select(group => new ServiceListing(
            group.Key,
            [.. group.OrderBy(o => o.Action, StringComparer.Ordinal).Select(o =>
                new ActionListing(o.Action, o.Path, o.Template.Variables, o.Price, o.CreateQty, o.Expiration))]))],
        [.. catalog.LiveDeals.Select(d => Deal(catalog, d))]);

    /// <summary>A live deal as a client sees it: what to send, what it costs without add-ons, and what each add-on would add.</summary>
    private static DealListing Deal(CatalogSnapshot catalog, DealEntry deal)
    {
        var primary = deal.Offers.Select(i => (i, catalog.FindOffer(i)!)).ToList();
        var inputs = DealInputs.Of(primary);
        // With no add-ons a live deal always has a price: its primary offers are live.
        var quote = DealPricing.Quote(catalog, deal, [], new Dictionary<string, string>())!;
        return new DealListing(
            deal.Name, deal.Path, inputs, quote.PrimaryList, quote.Price,
            [.. deal.Offers.Select(i => new DealItemListing(i.Offer, i.Pipeline))],
            [.. deal.Addons.Select(a => new AddonListing(
                a.Offer, a.Pipeline, catalog.FindOffer(a)?.Price, [.. ExtraInputs(catalog, primary, a, inputs)], catalog.IsLive(a)))]);
    }

    /// <summary>The inputs choosing <paramref name="addon"/> adds to the deal's own.</summary>
    internal static IEnumerable<string> ExtraInputs(CatalogSnapshot catalog, IEnumerable<(DealItem, OfferEntry)> primary, DealItem addon, IReadOnlyList<string> inputs) =>
        catalog.FindOffer(addon) is { } offer ? DealInputs.Of([.. primary, (addon, offer)]).Except(inputs) : [];
}
