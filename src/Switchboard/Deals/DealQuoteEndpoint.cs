using Microsoft.Extensions.Primitives;
using Switchboard.Catalog;
using Switchboard.Errors;
using Switchboard.Users;

namespace Switchboard.Deals;

/// <summary>
/// <c>GET /svc/deal/{name}/quote?addons=a,b</c>: what the deal costs with these add-ons and how
/// the price splits over its steps. Public like the catalog it is read from; it charges nothing,
/// so a client can show the price before it buys.
/// </summary>
public static class DealQuoteEndpoint
{
    public static IEndpointRouteBuilder MapDealQuote(this IEndpointRouteBuilder app)
    {
        app.MapGet("/svc/deal/{name}/quote", Handle)
            .WithName("quote_deal").WithTags("deal").WithSummary("The price of a deal with these add-ons (nothing is charged)")
            .Produces<DealQuoteView>().ProducesProblem(400).ProducesProblem(404).IsPublicInOpenApi();
        return app;
    }

    private static IResult Handle(string name, HttpRequest request, CatalogCache catalog)
    {
        // One snapshot for the whole answer: the catalog may be swapped meanwhile.
        var snapshot = catalog.Current;
        if (snapshot.FindDeal(name) is not { } deal || !snapshot.IsLive(deal))
        {
            return Problems.UnknownDeal(name);
        }
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        if (DealPricing.Quote(snapshot, deal, Addons(request.Query["addons"]), errors) is not { } quote)
        {
            return Problems.Of(400, "invalid_addons", "The add-ons are not valid", string.Join("; ", errors.Select(e => $"{e.Key} {e.Value}")),
                new Dictionary<string, object?> { ["errors"] = errors });
        }
        return TypedResults.Ok(quote.ToJson());
    }

    /// <summary>Add-on names from <c>?addons=a,b</c> (the parameter may also repeat); empty or absent is none.</summary>
    public static IReadOnlyList<string> Addons(StringValues values) =>
        [.. values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))];
}

/// <summary>A deal's quote (built as JSON by <see cref="DealQuote.ToJson"/>; these records describe it for the OpenAPI document).</summary>
public sealed record DealQuoteView(string Deal, long Price, QuotePrimary Primary, QuoteAddons Addons, IReadOnlyList<QuoteStep> Steps);

/// <param name="FixedPrice">The deal's fixed price, when it has one.</param>
/// <param name="Modifier">Percent off the list price, when the deal has no fixed price.</param>
public sealed record QuotePrimary(long ListPrice, int? FixedPrice, int? Modifier, long Price);

public sealed record QuoteAddons(IReadOnlyList<string> Chosen, long ListPrice, int Modifier, long Price);

/// <param name="Price">The step's share of the deal's price.</param>
public sealed record QuoteStep(int Step, string Offer, string Pipeline, bool Addon, long ListPrice, long Price);
