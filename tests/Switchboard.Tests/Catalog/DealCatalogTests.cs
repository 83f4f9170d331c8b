using System.Text;
using Switchboard.Catalog;

namespace Switchboard.Tests.Catalog;

/// <summary>
/// Deals in the catalog: the <c>deals:</c> part of the file (every bad entry named), its round
/// trip through the store, and the admin JSON API that edits them, on both stores.
/// </summary>
public abstract class DealCatalogTests(StoreKind kind) : AppTests
{
    /// <summary>Offers a deal can bundle; draft and tweet take the item before them as {input}.</summary>
    public static readonly string Offers = TestCatalogs.OnEchoRender("""
        offers:
          - {service: text, action: outline, handler: echo.render, price: 3, prompt_template: "Outline {topic}"}
          - {service: text, action: draft, handler: echo.render, price: 6, prompt_template: "Draft a {tone} post from {input}"}
          - {service: text, action: tweet, handler: echo.render, price: 2, prompt_template: "Tweet {input}"}
          - {service: image, action: cover, handler: echo.render, price: 4, prompt_template: "Cover for {topic} in {style}"}
        """);

    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(kind);

    private Task<(int Exit, string Out, string Err)> Apply(string yaml) => App.TryApplyCatalogAsync(yaml);

    private async Task<string> Export() => (await App.CliAsync("catalog", "export")).Out;

    private CatalogSnapshot Stored => App.Store.Query(CatalogStore.Load);

    [Fact]
    public async Task EveryBadDealIsNamedAndNothingIsApplied()
    {
        var (exit, _, error) = await Apply(Offers + """

              - {service: text, action: broken, handler: echo.render, price: -1, prompt_template: "x"}
            deals:
              - {name: unknown-offer, offers: [{offer: text/outline}, {offer: text/drafts, pipeline: overwrite}]}
              - {name: piped-first, offers: [{offer: text/draft, pipeline: overwrite}]}
              - {name: modifiers, offers: [{offer: text/outline}], price_modifier: 101, addons_modifier: -1}
              - {name: negative, offers: [{offer: text/outline}], price: -5}
              - {name: unknown-offer, offers: [{offer: text/outline}]}
              - {name: Not A Slug, offers: [{offer: text/outline}]}
              - {name: empty, offers: []}
              - {name: missing}
              - {name: bad-mode, offers: [{offer: text/outline}, {offer: text/draft, pipeline: sideways}]}
              - {name: ambiguous, offers: [{offer: text/outline}], price: 5, price_modifier: 10}
              - {name: twice, offers: [{offer: text/outline}], addons: [{offer: image/cover}, {offer: image/cover, pipeline: none}]}
              - {name: extra, offers: [{offer: text/outline, colour: red}], colour: blue}
              - {name: bad-offer, offers: [{offer: outline}]}
              - {name: broken-offer, offers: [{offer: text/broken}]}
            """);

        Assert.Equal(1, exit);
        Assert.Contains("deals[0] (unknown-offer): offers[1] unknown offer 'text/drafts'", error);
        Assert.Contains("deals[1] (piped-first): offers[0] pipeline must be none: the first offer has no item before it", error);
        Assert.Contains("deals[2] (modifiers): price_modifier must be between 0 and 100", error);
        Assert.Contains("deals[2] (modifiers): addons_modifier must be between 0 and 100", error);
        Assert.Contains("deals[3] (negative): price must be >= 0", error);
        Assert.Contains("deals[4] (unknown-offer): name appears twice in this file", error);
        Assert.Contains("deals[5] (Not A Slug): name must be a lowercase slug", error);
        Assert.Contains("deals[6] (empty): offers must name at least one offer", error);
        Assert.Contains("deals[7] (missing): offers is required", error);
        Assert.Contains("deals[8] (bad-mode): offers[1] pipeline 'sideways' is not a pipeline mode (one of none, overwrite, extend, pass_through)", error);
        Assert.Contains("deals[9] (ambiguous): price_modifier must be 0 with a fixed price (price 5 and price_modifier 10 are ambiguous", error);
        Assert.Contains("deals[10] (twice): addons[1] offer 'image/cover' is already an add-on of this deal (add-ons are chosen by offer name)", error);
        Assert.Contains("deals[11]: unknown key 'colour'", error);
        Assert.Contains("deals[11] (extra): offers[0] unknown key 'colour'", error);
        Assert.Contains("deals[12] (bad-offer): offers[0] offer must be 'service/action' (got 'outline')", error);
        // An offer with an error of its own is reported once, at the offer.
        Assert.Contains("offers[4] (text/broken): price must be >= 0", error);
        Assert.DoesNotContain("unknown offer 'text/broken'", error);
        Assert.DoesNotContain("deals[4] (unknown-offer): offers", error);
        Assert.Contains("not applied", error);
        Assert.Empty(Stored.Deals);
        Assert.Empty(Stored.Offers);
    }

    [Fact]
    public async Task ADealMayNameOffersAlreadyInTheStore()
    {
        Assert.Equal(0, (await Apply(Offers)).Exit);
        var version = App.Store.Query(c => Meta.Read(c, Meta.CatalogVersion));

        var (exit, output, error) = await Apply("""
            deals:
              - {name: pack, offers: [{offer: text/outline}, {offer: text/draft, pipeline: extend}]}
            """);
        var (badExit, _, badError) = await Apply("""
            deals:
              - {name: other, offers: [{offer: text/outline}, {offer: text/nope}]}
            """);

        Assert.True(exit == 0, error);
        Assert.Contains("applied 0 handler(s), 0 offer(s) and 1 deal(s)", output);
        Assert.Equal(1, badExit);
        Assert.Contains("deals[0] (other): offers[1] unknown offer 'text/nope'", badError);
        Assert.Equal(version + 1, App.Store.Query(c => Meta.Read(c, Meta.CatalogVersion)));
        var deal = Assert.Single(Stored.Deals);
        Assert.Equal([new DealItem("text", "outline", Pipeline.None), new DealItem("text", "draft", Pipeline.Extend)], deal.Offers);
    }

    [Fact]
    public async Task ApplyExportApplyRoundTripsDeals()
    {
        var yaml = Offers + """

            deals:
              - name: blog-pack
                offers:
                  - {offer: text/outline, pipeline: none}
                  - {offer: text/draft, pipeline: overwrite}
                price: null
                price_modifier: 10
                addons:
                  - {offer: text/tweet, pipeline: pass_through}
                  - {offer: image/cover}
                addons_modifier: 20
              - {name: a-fixed_one, offers: [{offer: image/cover}], price: 7, enabled: false}
            """;
        Assert.Equal(0, (await Apply(yaml)).Exit);
        var first = await Export();
        Assert.Equal(0, (await Apply(first)).Exit);
        Assert.Equal(first, await Export());

        var deals = Stored.Deals;
        Assert.Equal(["a-fixed_one", "blog-pack"], deals.Select(d => d.Name));
        var fixedOne = deals[0];
        Assert.Equal((7, 0, 0, false), (fixedOne.Price!.Value, fixedOne.PriceModifier, fixedOne.AddonsModifier, fixedOne.Enabled));
        Assert.Empty(fixedOne.Addons);
        var pack = deals[1];
        Assert.Equal((null, 10, 20, true), (pack.Price, pack.PriceModifier, pack.AddonsModifier, pack.Enabled));
        Assert.Equal(["text/outline", "text/draft"], pack.Offers.Select(i => i.Offer));
        Assert.Equal([new DealItem("text", "tweet", Pipeline.PassThrough), new DealItem("image", "cover", Pipeline.None)], pack.Addons);
        Assert.Equal("/svc/deal/blog-pack/", pack.Path);

        // An upsert by name: a deal not named is left alone, a named one replaced whole.
        Assert.Equal(0, (await Apply("""
            deals:
              - {name: blog-pack, offers: [{offer: text/outline}], price: 2}
            """)).Exit);
        Assert.Equal(["a-fixed_one", "blog-pack"], Stored.Deals.Select(d => d.Name));
        var replaced = Stored.FindDeal("blog-pack")!;
        Assert.Equal((2, 0), (replaced.Price!.Value, replaced.PriceModifier));
        Assert.Empty(replaced.Addons);
    }

    [Fact]
    public async Task TheExampleDealAppliesAndItsOffersExist()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Switchboard.slnx")))
        {
            root = root.Parent ?? throw new DirectoryNotFoundException("repository root not found");
        }
        var example = Path.Combine(root.FullName, "examples", "catalog.yaml");
        var (exit, output, error) = await App.CliAsync("catalog", "apply", example);

        Assert.True(exit == 0, error);
        Assert.Contains("1 deal(s)", output);
        var catalog = Stored;
        var deal = Assert.Single(catalog.LiveDeals);
        Assert.Contains(deal.Offers.Concat(deal.Addons), i => i.Waits);
        Assert.NotEmpty(deal.Addons);
        Assert.All(deal.Offers.Concat(deal.Addons), i => Assert.Equal("echo.render", catalog.FindOffer(i)!.Handler));
    }

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<HttpClient> StartWithAdmin()
    {
        Assert.Equal(0, (await Apply(Offers)).Exit);
        return (await App.AddAdminAsync()).Client;
    }

    [Fact]
    public async Task AdminsCreateReadReplaceAndDeleteDealsAndTheLiveCatalogFollows()
    {
        var admin = await StartWithAdmin();
        using var anyone = App.CreateClient();

        var created = await admin.PutAsync("/admin/api/deals/blog-pack", Body("""
            {"offers": [{"offer": "text/outline"}, {"offer": "text/draft", "pipeline": "overwrite"}],
             "price_modifier": 10, "addons": [{"offer": "image/cover"}]}
            """));

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var entry = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"name": "blog-pack", "offers": [{"offer": "text/outline", "pipeline": "none"}, {"offer": "text/draft", "pipeline": "overwrite"}],
             "price": null, "price_modifier": 10, "addons": [{"offer": "image/cover", "pipeline": "none"}], "addons_modifier": 0, "enabled": true}
            """), entry), entry.ToJsonString());
        // No restart and no reload by hand: the version bump reaches the running catalog.
        Assert.Equal(8, (await QuoteOnceLive(anyone, "/svc/deal/blog-pack/quote", q => q["price"]!.GetValue<long>() == 8))["price"]!.GetValue<long>());

        var replaced = await admin.PutAsync("/admin/api/deals/blog-pack", Body("""{"name": "blog-pack", "offers": [{"offer": "image/cover"}], "price": 3}"""));
        var quiet = await admin.PutAsync("/admin/api/deals/quiet", Body("""{"offers": [{"offer": "text/outline"}], "enabled": false}"""));

        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Equal(HttpStatusCode.OK, quiet.StatusCode);
        Assert.Empty((await replaced.Content.ReadFromJsonAsync<JsonObject>())!["addons"]!.AsArray());
        await QuoteOnceLive(anyone, "/svc/deal/blog-pack/quote", q => q["price"]!.GetValue<long>() == 3);
        var list = (await admin.GetFromJsonAsync<JsonObject>("/admin/api/deals"))!["deals"]!.AsArray();
        Assert.Equal(["blog-pack", "quiet"], list.Select(d => d!["name"]!.GetValue<string>()));
        Assert.False(list[1]!["enabled"]!.GetValue<bool>());
        var one = await admin.GetFromJsonAsync<JsonObject>("/admin/api/deals/quiet");
        Assert.True(JsonNode.DeepEquals(list[1], one));
        await Problem(await anyone.GetAsync("/svc/deal/quiet/quote"), HttpStatusCode.NotFound, "unknown_deal");

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/admin/api/deals/blog-pack")).StatusCode);
        await Problem(await admin.GetAsync("/admin/api/deals/blog-pack"), HttpStatusCode.NotFound, "unknown_deal");
        await Problem(await admin.DeleteAsync("/admin/api/deals/blog-pack"), HttpStatusCode.NotFound, "unknown_deal");
        await Until(async () => (await anyone.GetAsync("/svc/deal/blog-pack/quote")).StatusCode == HttpStatusCode.NotFound);
        Assert.Equal(["quiet"], Stored.Deals.Select(d => d.Name));
    }

    [Fact]
    public async Task TheDealsAdminApiNeedsAnAdminKey()
    {
        await StartWithAdmin();
        var alice = (await App.AddUserAsync("alice", 100)).Client;
        using var anyone = App.CreateClient();
        const string deal = """{"offers": [{"offer": "text/outline"}]}""";

        await Problem(await alice.GetAsync("/admin/api/deals"), HttpStatusCode.Forbidden, "admin_required");
        await Problem(await alice.GetAsync("/admin/api/deals/pack"), HttpStatusCode.Forbidden, "admin_required");
        await Problem(await alice.PutAsync("/admin/api/deals/pack", Body(deal)), HttpStatusCode.Forbidden, "admin_required");
        await Problem(await alice.DeleteAsync("/admin/api/deals/pack"), HttpStatusCode.Forbidden, "admin_required");
        await Problem(await anyone.PutAsync("/admin/api/deals/pack", Body(deal)), HttpStatusCode.Unauthorized, "missing_api_key");
        Assert.Empty(Stored.Deals);
    }

    [Fact]
    public async Task AnInvalidDealBodyIs400WithEveryErrorAndStoresNothing()
    {
        var admin = await StartWithAdmin();

        var invalid = await Problem(await admin.PutAsync("/admin/api/deals/pack", Body("""
            {"offers": [{"offer": "text/nope"}, {"offer": "text/draft", "pipeline": "sideways"}], "price": -1, "colour": "red",
             "addons": [{"offer": "image/cover"}, {"offer": "image/cover"}]}
            """)), HttpStatusCode.BadRequest, "invalid_deal");
        var renamed = await Problem(await admin.PutAsync("/admin/api/deals/pack", Body("""{"name": "other", "offers": [{"offer": "text/outline"}]}""")),
            HttpStatusCode.BadRequest, "invalid_deal");
        var badName = await Problem(await admin.PutAsync("/admin/api/deals/Pack", Body("""{"offers": [{"offer": "text/outline"}]}""")),
            HttpStatusCode.BadRequest, "invalid_deal");
        await Problem(await admin.PutAsync("/admin/api/deals/pack", Body("""{"offers": """)), HttpStatusCode.BadRequest, "invalid_json");
        await Problem(await admin.PutAsync("/admin/api/deals/pack", Body("""[{"offers": []}]""")), HttpStatusCode.BadRequest, "invalid_json");

        Assert.Equal(
            ["unknown key 'colour'", "offers[0] unknown offer 'text/nope'",
             "offers[1] pipeline 'sideways' is not a pipeline mode (one of none, overwrite, extend, pass_through)", "price must be >= 0",
             "addons[1] offer 'image/cover' is already an add-on of this deal (add-ons are chosen by offer name)"],
            Errors(invalid));
        Assert.StartsWith("name \"other\" does not match the deal's path ('pack')", Assert.Single(Errors(renamed)));
        Assert.Equal(["name must be a lowercase slug (a-z, 0-9, '-', '_')"], Errors(badName));
        Assert.Empty(Stored.Deals);
    }

    private static IEnumerable<string> Errors(JsonObject problem) => problem["errors"]!.AsArray().Select(e => e!.GetValue<string>());

    /// <summary>Polls a quote (the live catalog follows the store within a poll) until it answers 200 and <paramref name="done"/> holds.</summary>
    private static async Task<JsonObject> QuoteOnceLive(HttpClient client, string path, Func<JsonObject, bool> done)
    {
        JsonObject? quote = null;
        await Until(async () =>
        {
            var response = await client.GetAsync(path);
            quote = response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonObject>() : null;
            return quote is not null && done(quote);
        });
        return quote!;
    }

    private static Task Until(Func<Task<bool>> condition) =>
        Wait.Until(condition, TimeSpan.FromSeconds(10), "the live catalog to follow the store");
}

public sealed class DealCatalogOnSqlite() : DealCatalogTests(StoreKind.Sqlite);

public sealed class DealCatalogOnPostgres() : DealCatalogTests(StoreKind.Postgres);
