using System.Text.Json.Nodes;

namespace Switchboard.Catalog;

/// <summary>A ServiceHandler row: which code runs an offer and what one call costs internally.</summary>
public sealed record HandlerEntry(string Id, int Credits, string? Resource, bool Enabled);

/// <summary>An offer: a priced, templated action at <c>/svc/{Service}/{Action}/</c>.</summary>
public sealed record OfferEntry(
    string Service,
    string Action,
    string Handler,
    int Price,
    PromptTemplate Template,
    int CreateQty,
    int? Expiration,
    JsonObject Params,
    bool Enabled)
{
    public string Path => $"/svc/{Service}/{Action}/";

    /// <summary>The params as stored and as copied onto every request: serialized once, not per request.</summary>
    public string ParamsJson { get; } = Params.ToJsonString();
}

/// <summary>An immutable view of the catalog; replaced whole when the catalog changes.</summary>
public sealed class CatalogSnapshot(IReadOnlyDictionary<string, HandlerEntry> handlers, IReadOnlyList<OfferEntry> offers)
{
    private readonly Dictionary<(string, string), OfferEntry> _offers = offers.ToDictionary(o => (o.Service, o.Action));

    public static CatalogSnapshot Empty { get; } = new(new Dictionary<string, HandlerEntry>(), []);

    public IReadOnlyDictionary<string, HandlerEntry> Handlers { get; } = handlers;

    public IReadOnlyList<OfferEntry> Offers { get; } = offers;

    public OfferEntry? FindOffer(string service, string action) => _offers.GetValueOrDefault((service, action));

    /// <summary>An offer is callable when it and its handler are enabled.</summary>
    public bool IsLive(OfferEntry offer) =>
        offer.Enabled && Handlers.TryGetValue(offer.Handler, out var handler) && handler.Enabled;

    public IEnumerable<OfferEntry> LiveOffers => Offers.Where(IsLive);
}
