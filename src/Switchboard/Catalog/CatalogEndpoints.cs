using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Switchboard.Deals;

namespace Switchboard.Catalog;

/// <summary>The public face of the catalog: <c>GET /svc/</c>, <c>GET /svc/openapi.json</c> and deal quotes (no key needed).</summary>
public static class CatalogEndpoints
{
    private static readonly ConditionalWeakTable<CatalogSnapshot, string> OpenApiCache = new();

    public static IEndpointRouteBuilder MapCatalogEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/svc/", (CatalogCache catalog) => TypedResults.Ok(List(catalog.Current)));
        app.MapGet("/svc/openapi.json", (CatalogCache catalog) =>
            TypedResults.Text(OpenApiCache.GetValue(catalog.Current, s => OpenApiDocument.Build(s).ToJsonString()), "application/json"));
        app.MapDealQuote();
        return app;
    }

    public static JsonObject List(CatalogSnapshot catalog)
    {
        var services = new JsonArray();
        foreach (var group in catalog.LiveOffers.GroupBy(o => o.Service).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            services.Add(new JsonObject
            {
                ["name"] = group.Key,
                ["actions"] = new JsonArray([.. group.OrderBy(o => o.Action, StringComparer.Ordinal).Select(o => (JsonNode)new JsonObject
                {
                    ["name"] = o.Action,
                    ["path"] = o.Path,
                    ["inputs"] = new JsonArray([.. o.Template.Variables.Select(v => (JsonNode)v)]),
                    ["price"] = o.Price,
                    ["create_qty"] = o.CreateQty,
                    ["expiration"] = o.Expiration,
                })]),
            });
        }
        return new JsonObject { ["services"] = services, ["deals"] = new JsonArray([.. catalog.LiveDeals.Select(d => (JsonNode)Deal(catalog, d))]) };
    }

    /// <summary>A live deal as a client sees it: what to send, what it costs without add-ons, and what each add-on would add.</summary>
    private static JsonObject Deal(CatalogSnapshot catalog, DealEntry deal)
    {
        var primary = deal.Offers.Select(i => (i, catalog.FindOffer(i)!)).ToList();
        var inputs = DealInputs.Of(primary);
        // With no add-ons a live deal always has a price: its primary offers are live.
        var quote = DealPricing.Quote(catalog, deal, [], new Dictionary<string, string>())!;
        return new JsonObject
        {
            ["name"] = deal.Name,
            ["path"] = deal.Path,
            ["inputs"] = new JsonArray([.. inputs.Select(v => (JsonNode)v)]),
            ["list_price"] = quote.PrimaryList,
            ["price"] = quote.Price,
            ["steps"] = CatalogDocument.ToJson(deal.Offers),
            ["addons"] = new JsonArray([.. deal.Addons.Select(a => (JsonNode)new JsonObject
            {
                ["offer"] = a.Offer,
                ["pipeline"] = a.Pipeline,
                ["list_price"] = catalog.FindOffer(a)?.Price,
                ["inputs"] = new JsonArray([.. ExtraInputs(catalog, primary, a, inputs).Select(v => (JsonNode)v)]),
                ["available"] = catalog.IsLive(a),
            })]),
        };
    }

    /// <summary>The inputs choosing <paramref name="addon"/> adds to the deal's own.</summary>
    internal static IEnumerable<string> ExtraInputs(CatalogSnapshot catalog, IEnumerable<(DealItem, OfferEntry)> primary, DealItem addon, IReadOnlyList<string> inputs) =>
        catalog.FindOffer(addon) is { } offer ? DealInputs.Of([.. primary, (addon, offer)]).Except(inputs) : [];
}
