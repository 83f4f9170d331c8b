using Switchboard.Fairness;
namespace Switchboard.Catalog;

/// <summary>
/// A ServiceHandler row: which code runs an offer and what one call costs internally:
/// <see cref="Credits"/> per call, plus <see cref="PerUnit"/> credits per unit of the usage the
/// handler records (<c>images</c>, <c>total_tokens</c>, …), the sum rounded up to whole credits.
/// </summary>
public sealed record HandlerEntry(string Id, int Credits, string? Resource, bool Enabled, IReadOnlyDictionary<string, double>? PerUnit = null)
{
    /// <summary>What one attempt cost at the integration, given the usage it recorded.</summary>
    public long CreditsFor(JsonObject? usage)
    {
        if (PerUnit is not { Count: > 0 } || usage is null)
        {
            return Credits;
        }
        var units = 0.0;
        foreach (var (name, rate) in PerUnit)
        {
            if (usage[name] is JsonValue v && (v.TryGetValue<long>(out var amount) || (v.TryGetValue<int>(out var small) && (amount = small) == small)))
            {
                units += rate * amount;
            }
        }
        // Rounded up: fractions of a credit per token still cost the integration something.
        return Credits + (long)Math.Ceiling(units - 1e-9);
    }
}

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

    /// <summary>Its requests' priority level before the user's shift: <c>params.priority</c>, else 5 (<see cref="Priorities"/>).</summary>
    public int Priority { get; } = OfferPriority.Of(Params);
}

/// <summary>An immutable view of the catalog; replaced whole when the catalog changes.</summary>
public sealed class CatalogSnapshot(
    IReadOnlyDictionary<string, HandlerEntry> handlers, IReadOnlyList<OfferEntry> offers, IReadOnlyList<DealEntry>? deals = null)
{
    private readonly Dictionary<(string, string), OfferEntry> _offers = offers.ToDictionary(o => (o.Service, o.Action));

    private readonly Dictionary<string, DealEntry> _deals = (deals ?? []).ToDictionary(d => d.Name, StringComparer.Ordinal);

    public static CatalogSnapshot Empty { get; } = new(new Dictionary<string, HandlerEntry>(), []);

    public IReadOnlyDictionary<string, HandlerEntry> Handlers { get; } = handlers;

    public IReadOnlyList<OfferEntry> Offers { get; } = offers;

    /// <summary>Deals in name order.</summary>
    public IReadOnlyList<DealEntry> Deals { get; } = deals ?? [];

    public OfferEntry? FindOffer(string service, string action) => _offers.GetValueOrDefault((service, action));

    public OfferEntry? FindOffer(DealItem item) => FindOffer(item.Service, item.Action);

    public DealEntry? FindDeal(string name) => _deals.GetValueOrDefault(name);

    /// <summary>An offer is callable when it and its handler are enabled.</summary>
    public bool IsLive(OfferEntry offer) =>
        offer.Enabled && Handlers.TryGetValue(offer.Handler, out var handler) && handler.Enabled;

    /// <summary>An item is callable when its offer exists and is live.</summary>
    public bool IsLive(DealItem item) => FindOffer(item) is { } offer && IsLive(offer);

    /// <summary>A deal is callable when it is enabled and all its primary items are (an add-on that is not can only not be chosen).</summary>
    public bool IsLive(DealEntry deal) => deal.Enabled && deal.Offers.All(IsLive);

    public IEnumerable<OfferEntry> LiveOffers => Offers.Where(IsLive);

    public IEnumerable<DealEntry> LiveDeals => Deals.Where(IsLive);
}

/// <summary>How a deal item takes and passes on data (SPEC §2, Pipelines).</summary>
public static class Pipeline
{
    /// <summary>Runs at once on the deal's inputs; passes on its own results.</summary>
    public const string None = "none";

    /// <summary>Waits for the item before it; passes on its own results.</summary>
    public const string Overwrite = "overwrite";

    /// <summary>Waits for the item before it; passes on what it received followed by its own results.</summary>
    public const string Extend = "extend";

    /// <summary>Waits for the item before it; passes on what it received, unchanged.</summary>
    public const string PassThrough = "pass_through";

    public static readonly IReadOnlyList<string> Modes = [None, Overwrite, Extend, PassThrough];

    /// <summary>The template variable a pipeline item receives the data passed to it in.</summary>
    public const string InputVariable = "input";
}

/// <summary>One item of a deal: an offer and its pipeline mode.</summary>
public sealed record DealItem(string Service, string Action, string Pipeline)
{
    /// <summary>"service/action", as deals and add-on lists name offers.</summary>
    public string Offer => $"{Service}/{Action}";

    public bool Waits => Pipeline != Catalog.Pipeline.None;
}

/// <summary>
/// A deal: primary items (always run, in order), a fixed <see cref="Price"/> or a
/// <see cref="PriceModifier"/> (percent off their summed prices), and optional add-ons with
/// their own <see cref="AddonsModifier"/>.
/// </summary>
public sealed record DealEntry(
    string Name,
    IReadOnlyList<DealItem> Offers,
    int? Price,
    int PriceModifier,
    IReadOnlyList<DealItem> Addons,
    int AddonsModifier,
    bool Enabled)
{
    public string Path => $"/svc/deal/{Name}/";

    public DealItem? FindAddon(string offer) => Addons.FirstOrDefault(a => a.Offer == offer);
}
