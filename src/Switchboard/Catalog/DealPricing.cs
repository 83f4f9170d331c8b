namespace Switchboard.Catalog;

/// <summary>One item of a priced deal request: its offer, list price and share of the price charged.</summary>
public sealed record QuotedItem(int Step, DealItem Item, bool Addon, OfferEntry Offer, long ListPrice, long Share);

/// <summary>
/// The price of one deal with one choice of add-ons, and how it splits over the items (the
/// shares refunded when an item fails or never runs): the primary items share the primary
/// price, the chosen add-ons the add-ons' price, each in proportion to list prices.
/// </summary>
public sealed record DealQuote(DealEntry Deal, long PrimaryList, long PrimaryPrice, long AddonsList, long AddonsPrice, IReadOnlyList<QuotedItem> Items)
{
    public long Price => PrimaryPrice + AddonsPrice;

    public IEnumerable<string> ChosenAddons => Items.Where(i => i.Addon).Select(i => i.Item.Offer);

    public JsonObject ToJson() => new()
    {
        ["deal"] = Deal.Name,
        ["price"] = Price,
        ["primary"] = new JsonObject
        {
            ["list_price"] = PrimaryList,
            ["fixed_price"] = Deal.Price,
            ["modifier"] = Deal.Price is null ? Deal.PriceModifier : null,
            ["price"] = PrimaryPrice,
        },
        ["addons"] = new JsonObject
        {
            ["chosen"] = new JsonArray([.. ChosenAddons.Select(a => (JsonNode)a)]),
            ["list_price"] = AddonsList,
            ["modifier"] = Deal.AddonsModifier,
            ["price"] = AddonsPrice,
        },
        ["steps"] = new JsonArray([.. Items.Select(i => (JsonNode)new JsonObject
        {
            ["step"] = i.Step,
            ["offer"] = i.Item.Offer,
            ["pipeline"] = i.Item.Pipeline,
            ["addon"] = i.Addon,
            ["list_price"] = i.ListPrice,
            ["price"] = i.Share,
        })]),
    };
}

/// <summary>SPEC §2: a deal's price, and its split over the items.</summary>
public static class DealPricing
{
    /// <summary><paramref name="sum"/> × (100 − <paramref name="modifier"/>) / 100, rounded half up to whole credits.</summary>
    public static long Discounted(long sum, int modifier) => ((sum * (100 - modifier)) + 50) / 100;

    /// <summary>
    /// Splits <paramref name="total"/> in proportion to <paramref name="listPrices"/> (equally when
    /// they are all 0), by largest remainder: whole credits that sum to exactly the total, the
    /// leftover credits going to the largest fractions (the earlier item on a tie).
    /// </summary>
    public static long[] Shares(long total, IReadOnlyList<long> listPrices)
    {
        var count = listPrices.Count;
        var shares = new long[count];
        if (count == 0)
        {
            return shares;
        }
        var weights = listPrices.Sum() > 0 ? listPrices : [.. Enumerable.Repeat(1L, count)];
        Int128 sum = weights.Sum();
        var remainders = new Int128[count];
        var given = 0L;
        for (var i = 0; i < count; i++)
        {
            var exact = total * (Int128)weights[i];
            shares[i] = (long)(exact / sum);
            remainders[i] = exact % sum;
            given += shares[i];
        }
        foreach (var i in Enumerable.Range(0, count).OrderByDescending(i => remainders[i]).ThenBy(i => i).Take((int)(total - given)))
        {
            shares[i]++;
        }
        return shares;
    }

    /// <summary>
    /// Prices <paramref name="deal"/> with the add-ons named in <paramref name="addons"/> (any
    /// order). Each name that is not an add-on of the deal, is named twice or whose offer is not
    /// available now gets an entry in <paramref name="errors"/>, and the answer is null.
    /// </summary>
    public static DealQuote? Quote(CatalogSnapshot catalog, DealEntry deal, IReadOnlyList<string> addons, Dictionary<string, string> errors)
    {
        var chosen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in addons)
        {
            if (deal.FindAddon(name) is not { } item)
            {
                errors[name] = deal.Addons.Count == 0
                    ? "is not an add-on of this deal (it has none)"
                    : $"is not an add-on of this deal (its add-ons: {string.Join(", ", deal.Addons.Select(a => a.Offer))})";
            }
            else if (!chosen.Add(name))
            {
                errors[name] = "is chosen more than once";
            }
            else if (!catalog.IsLive(item))
            {
                errors[name] = "is not available now";
            }
        }
        if (errors.Count > 0)
        {
            return null;
        }
        var items = deal.Offers.Select(i => (Item: i, Addon: false))
            .Concat(deal.Addons.Where(a => chosen.Contains(a.Offer)).Select(i => (Item: i, Addon: true)))
            .Select(x => (x.Item, x.Addon, Offer: catalog.FindOffer(x.Item)!))
            .ToList();
        var primaryList = items.Where(x => !x.Addon).Sum(x => (long)x.Offer.Price);
        var addonsList = items.Where(x => x.Addon).Sum(x => (long)x.Offer.Price);
        var primaryPrice = deal.Price ?? Discounted(primaryList, deal.PriceModifier);
        var addonsPrice = Discounted(addonsList, deal.AddonsModifier);
        // Each part splits its own price, so an add-on's share carries the add-ons' discount.
        long[] shares = [
            .. Shares(primaryPrice, [.. items.Where(x => !x.Addon).Select(x => (long)x.Offer.Price)]),
            .. Shares(addonsPrice, [.. items.Where(x => x.Addon).Select(x => (long)x.Offer.Price)])];
        return new DealQuote(deal, primaryList, primaryPrice, addonsList, addonsPrice,
            [.. items.Select((x, i) => new QuotedItem(i, x.Item, x.Addon, x.Offer, x.Offer.Price, shares[i]))]);
    }
}
