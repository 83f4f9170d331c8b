namespace Switchboard.Catalog;

/// <summary>The <c>deals:</c> part of the catalog file (SPEC §2, Deal), checked like handlers and offers.</summary>
public static partial class CatalogDocument
{
    private static readonly string[] DealKeys = ["name", "offers", "price", "price_modifier", "addons", "addons_modifier", "enabled"];

    private static readonly string[] ItemKeys = ["offer", "pipeline"];

    /// <summary>One deal as the file and the admin API write it.</summary>
    /// <summary>A handler as the catalog file and the admin API write it.</summary>
    public static JsonObject ToJson(HandlerEntry h) => new()
    {
        ["id"] = h.Id,
        ["credits"] = h.PerUnit is { Count: > 0 } per
            ? new JsonObject
            {
                ["per_call"] = h.Credits,
                ["per"] = new JsonObject([.. per.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value)))]),
            }
            : h.Credits,
        ["resource"] = h.Resource,
        ["enabled"] = h.Enabled,
    };

    /// <summary>An offer as the catalog file and the admin API write it.</summary>
    public static JsonObject ToJson(OfferEntry o) => new()
    {
        ["service"] = o.Service,
        ["action"] = o.Action,
        ["handler"] = o.Handler,
        ["price"] = o.Price,
        ["prompt_template"] = o.Template.Source,
        ["create_qty"] = o.CreateQty,
        ["expiration"] = o.Expiration,
        ["params"] = o.Params.DeepClone(),
        ["enabled"] = o.Enabled,
    };

    public static JsonObject ToJson(DealEntry deal) => new()
    {
        ["name"] = deal.Name,
        ["offers"] = ToJson(deal.Offers),
        ["price"] = deal.Price,
        ["price_modifier"] = deal.PriceModifier,
        ["addons"] = ToJson(deal.Addons),
        ["addons_modifier"] = deal.AddonsModifier,
        ["enabled"] = deal.Enabled,
    };

    /// <summary>Items as <c>[{offer, pipeline}]</c>: in the file, in the admin API and in the <c>deals</c> table.</summary>
    public static JsonArray ToJson(IEnumerable<DealItem> items) =>
        [.. items.Select(i => (JsonNode)new JsonObject { ["offer"] = i.Offer, ["pipeline"] = i.Pipeline })];

    /// <param name="knownOffers">"service/action" of every offer in the store or named in the file.</param>
    private static List<DealEntry> ParseDeals(JsonObject doc, IReadOnlySet<string> knownOffers, List<string> errors)
    {
        var deals = new List<DealEntry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (item, i) in Items(doc, "deals", errors))
        {
            var where = $"deals[{i}]";
            var e = new EntryErrors(where, item, errors, DealKeys);
            var name = e.Str("name", required: true);
            if (name is not null)
            {
                e.Where = $"{where} ({name})";
                if (!Slug().IsMatch(name))
                {
                    e.Add("name", "must be a lowercase slug (a-z, 0-9, '-', '_')");
                }
                if (!names.Add(name))
                {
                    e.Add("name", "appears twice in this file");
                }
            }
            var offers = DealItems(e, item, "offers", knownOffers);
            var price = e.Int("price", required: false, min: 0);
            var priceModifier = e.Int("price_modifier", required: false, min: 0, max: 100) ?? 0;
            if (price is not null && priceModifier != 0)
            {
                // Which one would apply is a guess either way: make the file say.
                e.Add("price_modifier", $"must be 0 with a fixed price (price {price} and price_modifier {priceModifier} are ambiguous: set one)");
            }
            var addons = DealItems(e, item, "addons", knownOffers);
            var addonsModifier = e.Int("addons_modifier", required: false, min: 0, max: 100) ?? 0;
            var enabled = e.Bool("enabled") ?? true;
            if (e.Ok && name is not null)
            {
                deals.Add(new DealEntry(name, offers, price, priceModifier, addons, addonsModifier, enabled));
            }
        }
        return deals;
    }

    /// <summary>The items under <paramref name="key"/> (<c>offers</c>: required, not empty, the first runs on the deal's inputs; <c>addons</c>: optional, each offer once).</summary>
    private static List<DealItem> DealItems(EntryErrors e, JsonObject entry, string key, IReadOnlySet<string> knownOffers)
    {
        var primary = key == "offers";
        var items = new List<DealItem>();
        var node = entry[key];
        if (node is null)
        {
            if (primary)
            {
                e.Add(key, "is required (the offers the deal always runs)");
            }
            return items;
        }
        if (node is not JsonArray list)
        {
            e.Add(key, "must be a list of {offer: service/action, pipeline: mode}");
            return items;
        }
        if (primary && list.Count == 0)
        {
            e.Add(key, "must name at least one offer");
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var j = 0; j < list.Count; j++)
        {
            var at = $"{key}[{j}]";
            if (list[j] is not JsonObject item)
            {
                e.Add(at, "must be a mapping {offer: service/action, pipeline: mode}");
                continue;
            }
            foreach (var unknown in item.Select(p => p.Key).Where(k => !ItemKeys.Contains(k)))
            {
                e.Add(at, $"unknown key '{unknown}'");
            }
            var offer = Text(item["offer"]);
            var parts = offer?.Split('/');
            if (item["offer"] is null)
            {
                e.Add(at, "offer is required");
            }
            else if (offer is null || parts is not [{ Length: > 0 }, { Length: > 0 }])
            {
                e.Add(at, $"offer must be 'service/action' (got {Shown(item["offer"])})");
            }
            else if (!knownOffers.Contains(offer))
            {
                e.Add(at, $"unknown offer '{offer}'");
            }
            else if (!primary && !seen.Add(offer))
            {
                e.Add(at, $"offer '{offer}' is already an add-on of this deal (add-ons are chosen by offer name)");
            }
            // A missing pipeline is the common case: an item that runs on the deal's inputs.
            var pipeline = item["pipeline"] is null ? Pipeline.None : Text(item["pipeline"]);
            if (pipeline is null || !Pipeline.Modes.Contains(pipeline))
            {
                e.Add(at, $"pipeline {Shown(item["pipeline"])} is not a pipeline mode (one of {string.Join(", ", Pipeline.Modes)})");
                pipeline = null;
            }
            else if (primary && j == 0 && pipeline != Pipeline.None)
            {
                e.Add(at, $"pipeline must be none: the first offer has no item before it to take data from (got '{pipeline}')");
            }
            if (parts is [var service, var action] && pipeline is not null)
            {
                items.Add(new DealItem(service, action, pipeline));
            }
        }
        return items;
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>A value as an error message quotes it: a string in single quotes, anything else as JSON.</summary>
    private static string Shown(JsonNode? node) => Text(node) is { } s ? $"'{s}'" : node?.ToJsonString() ?? "null";
}
