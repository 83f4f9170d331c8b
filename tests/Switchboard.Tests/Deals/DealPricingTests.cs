using System.Text.Json.Nodes;
using Switchboard.Catalog;
using Switchboard.Deals;

namespace Switchboard.Tests.Deals;

/// <summary>SPEC §2's price of a deal, and its split over the items, on catalogs built in memory.</summary>
public sealed class DealPricingTests
{
    /// <summary>A catalog of offers <c>p/0</c>, <c>p/1</c>, … and <c>a/0</c>, <c>a/1</c>, … at these prices, and one deal of them.</summary>
    private static (CatalogSnapshot Catalog, DealEntry Deal) Build(int[] primary, int? price, int priceModifier, int[] addons, int addonsModifier)
    {
        PromptTemplate.TryParse("x", out var template, out _);
        var offers = primary.Select((p, i) => Offer("p", i, p)).Concat(addons.Select((p, i) => Offer("a", i, p))).ToList();
        var deal = new DealEntry("d", [.. primary.Select((_, i) => new DealItem("p", $"{i}", Pipeline.None))], price, priceModifier,
            [.. addons.Select((_, i) => new DealItem("a", $"{i}", Pipeline.None))], addonsModifier, Enabled: true);
        var handlers = new Dictionary<string, HandlerEntry> { ["echo.render"] = new("echo.render", 1, null, true) };
        return (new CatalogSnapshot(handlers, offers, [deal]), deal);

        OfferEntry Offer(string service, int i, int listPrice) => new(service, $"{i}", "echo.render", listPrice, template!, 1, null, new JsonObject(), true);
    }

    [Theory]
    // name,                         primary,          price, mod, add-ons,      mod, chosen,     primary price, add-ons price
    [InlineData("fixed price",        new[] { 10, 20 }, 25,    0,   new int[0],   0,   new int[0], 25, 0)]
    [InlineData("fixed price, add-on", new[] { 10, 20 }, 5,     0,   new[] { 8 },  0,   new[] { 0 }, 5, 8)]
    [InlineData("modifier 0",         new[] { 10, 20 }, null,  0,   new int[0],   0,   new int[0], 30, 0)]
    [InlineData("modifier 100",       new[] { 10, 20 }, null,  100, new[] { 8 },  0,   new[] { 0 }, 0, 8)]
    [InlineData("exactly .5 up",      new[] { 7, 8 },   null,  10,  new int[0],   0,   new int[0], 14, 0)]   // 13.5
    [InlineData("exactly .5 up, 1",   new[] { 100, 50 }, null, 99,  new int[0],   0,   new int[0], 2, 0)]    // 1.5
    [InlineData("just below .5",      new[] { 100, 49 }, null, 99,  new int[0],   0,   new int[0], 1, 0)]    // 1.49
    [InlineData("just above .5",      new[] { 100, 51 }, null, 99,  new int[0],   0,   new int[0], 2, 0)]    // 1.51
    [InlineData("no add-ons chosen",  new[] { 10 },     null,  0,   new[] { 8, 12 }, 20, new int[0], 10, 0)]
    [InlineData("all add-ons",        new[] { 10 },     null,  0,   new[] { 8, 12 }, 20, new[] { 0, 1 }, 10, 16)]
    [InlineData("add-ons any order",  new[] { 10 },     null,  0,   new[] { 8, 12 }, 20, new[] { 1, 0 }, 10, 16)]
    [InlineData("some add-ons",       new[] { 10 },     null,  0,   new[] { 8, 12, 3 }, 50, new[] { 2 }, 10, 2)]  // 1.5
    [InlineData("addons_modifier .5", new[] { 10 },     null,  0,   new[] { 5 },  10,  new[] { 0 }, 10, 5)]   // 4.5
    [InlineData("addons_modifier 100", new[] { 10 },    null,  0,   new[] { 5, 9 }, 100, new[] { 0, 1 }, 10, 0)]
    [InlineData("both modifiers",     new[] { 3, 6 },   null,  10,  new[] { 2, 4 }, 20, new[] { 0, 1 }, 8, 5)] // 8.1, 4.8
    [InlineData("free offers",        new[] { 0, 0 },   null,  10,  new[] { 0 },  20,  new[] { 0 }, 0, 0)]
    public void TheDealPriceIsThePrimaryPricePlusTheDiscountedAddons(
        string name, int[] primary, int? price, int priceModifier, int[] addons, int addonsModifier, int[] chosen, long primaryPrice, long addonsPrice)
    {
        var (catalog, deal) = Build(primary, price, priceModifier, addons, addonsModifier);
        var errors = new Dictionary<string, string>();

        var quote = DealPricing.Quote(catalog, deal, [.. chosen.Select(i => $"a/{i}")], errors);

        Assert.True(quote is not null, $"{name}: {string.Join(", ", errors)}");
        Assert.Equal((primaryPrice, addonsPrice, primaryPrice + addonsPrice), (quote.PrimaryPrice, quote.AddonsPrice, quote.Price));
        Assert.Equal(primary.Sum(), quote.PrimaryList);
        Assert.Equal(chosen.Sum(i => addons[i]), quote.AddonsList);
        // The chosen add-ons run after the primary items, in the deal's order, whatever the order asked.
        Assert.Equal([.. deal.Offers.Select(i => i.Offer), .. chosen.Order().Select(i => $"a/{i}")], quote.Items.Select(i => i.Item.Offer));
        Assert.Equal(quote.Items.Select((_, i) => i), quote.Items.Select(i => i.Step));
        Assert.Equal(primaryPrice, quote.Items.Where(i => !i.Addon).Sum(i => i.Share));
        Assert.Equal(addonsPrice, quote.Items.Where(i => i.Addon).Sum(i => i.Share));
        Assert.Equal(quote.Price, quote.ToJson()["price"]!.GetValue<long>());
    }

    [Theory]
    // total, list prices,       shares
    [InlineData(30, new long[] { 10, 20 }, new long[] { 10, 20 })]          // proportional, exact
    [InlineData(27, new long[] { 10, 20 }, new long[] { 9, 18 })]
    [InlineData(10, new long[] { 1, 2, 4 }, new long[] { 1, 3, 6 })]        // 1.43, 2.86, 5.71: the largest remainders get the two left
    [InlineData(10, new long[] { 1, 1, 1 }, new long[] { 4, 3, 3 })]        // equal remainders: the earlier item first
    [InlineData(1, new long[] { 5, 5 }, new long[] { 1, 0 })]
    [InlineData(2, new long[] { 1, 1, 1 }, new long[] { 1, 1, 0 })]
    [InlineData(7, new long[] { 0, 0, 0 }, new long[] { 3, 2, 2 })]         // all list prices 0: split equally
    [InlineData(5, new long[] { 0, 4 }, new long[] { 0, 5 })]               // a free item gets nothing
    [InlineData(0, new long[] { 5, 10 }, new long[] { 0, 0 })]              // a zero total
    [InlineData(0, new long[] { 0, 0 }, new long[] { 0, 0 })]
    [InlineData(0, new long[0], new long[0])]
    [InlineData(100, new long[] { 3 }, new long[] { 100 })]
    public void SharesSplitTheTotalInProportionToListPrices(long total, long[] listPrices, long[] shares) =>
        Assert.Equal(shares, DealPricing.Shares(total, listPrices));

    [Fact]
    public void SharesAlwaysSumToTheTotalAndStayWithinOneCreditOfTheExactShare()
    {
        var random = new Random(6);
        for (var run = 0; run < 2000; run++)
        {
            var prices = Enumerable.Range(0, random.Next(1, 8)).Select(_ => (long)random.Next(0, run % 2 == 0 ? 5 : 1000)).ToArray();
            var total = (long)random.Next(0, 5000);

            var shares = DealPricing.Shares(total, prices);

            Assert.Equal(total, shares.Sum());
            var weights = prices.Sum() > 0 ? prices : [.. prices.Select(_ => 1L)];
            for (var i = 0; i < prices.Length; i++)
            {
                var exact = (double)total * weights[i] / weights.Sum();
                Assert.InRange(shares[i], Math.Floor(exact), Math.Floor(exact) + 1);
            }
        }
    }

    [Fact]
    public void AnAddonShareCarriesTheAddonsDiscountNotThePrimaryOne()
    {
        var (catalog, deal) = Build([10, 30], price: 20, priceModifier: 0, addons: [10, 10], addonsModifier: 50);

        var quote = DealPricing.Quote(catalog, deal, ["a/0", "a/1"], [])!;

        Assert.Equal([5L, 15L, 5L, 5L], quote.Items.Select(i => i.Share));
        Assert.Equal([false, false, true, true], quote.Items.Select(i => i.Addon));
    }

    [Fact]
    public void UnknownRepeatedAndUnavailableAddonsAreEachNamed()
    {
        var (catalog, deal) = Build([10], null, 0, [5, 6], 0);
        var withoutA1 = new CatalogSnapshot(catalog.Handlers, [.. catalog.Offers.Where(o => o.Service != "a" || o.Action != "1")], [deal]);
        var errors = new Dictionary<string, string>();

        Assert.Null(DealPricing.Quote(withoutA1, deal, ["a/0", "a/0", "p/0", "a/1"], errors));

        Assert.Equal("is chosen more than once", errors["a/0"]);
        Assert.StartsWith("is not an add-on of this deal (its add-ons: a/0, a/1)", errors["p/0"]);
        Assert.Equal("is not available now", errors["a/1"]);
    }
}
