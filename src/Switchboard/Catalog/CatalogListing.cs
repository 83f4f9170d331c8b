namespace Switchboard.Catalog;

// GET /svc/: the live catalog as clients read it (snake_case on the wire).

public sealed record CatalogListing(IReadOnlyList<ServiceListing> Services, IReadOnlyList<DealListing> Deals);

public sealed record ServiceListing(string Name, IReadOnlyList<ActionListing> Actions);

/// <param name="Inputs">The template variables: the body's required properties.</param>
/// <param name="Expiration">Seconds the results are kept; null is the default.</param>
public sealed record ActionListing(string Name, string Path, IReadOnlyList<string> Inputs, int Price, int CreateQty, int? Expiration);

/// <param name="ListPrice">The sum of the primary offers' prices.</param>
/// <param name="Price">What the deal costs without add-ons.</param>
public sealed record DealListing(
    string Name, string Path, IReadOnlyList<string> Inputs, long ListPrice, long Price, IReadOnlyList<DealItemListing> Steps,
    IReadOnlyList<AddonListing> Addons);

/// <param name="Offer">"service/action".</param>
public sealed record DealItemListing(string Offer, string Pipeline);

/// <param name="ListPrice">The add-on offer's price; null when the offer is gone.</param>
/// <param name="Inputs">The inputs choosing this add-on adds to the deal's.</param>
/// <param name="Available">Whether it can be chosen now.</param>
public sealed record AddonListing(string Offer, string Pipeline, int? ListPrice, IReadOnlyList<string> Inputs, bool Available);
