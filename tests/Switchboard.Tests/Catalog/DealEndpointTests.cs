namespace Switchboard.Tests.Catalog;

/// <summary>What clients see of deals without a key: the listing, the OpenAPI document and quotes.</summary>
public sealed class DealEndpointTests : AppTests
{
    private HttpClient _client = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite, catalog: DealCatalogTests.Offers + """

              - {service: image, action: hidden, handler: echo.render, price: 1, prompt_template: "Hidden {what}", enabled: false}
              - {service: text, action: hello, handler: echo.render, price: 1, prompt_template: "Say hello"}
            deals:
              - name: blog-pack
                offers: [{offer: text/outline}, {offer: text/draft, pipeline: overwrite}]
                price_modifier: 10
                addons: [{offer: text/tweet, pipeline: overwrite}, {offer: image/cover}, {offer: image/hidden}]
                addons_modifier: 20
              - {name: fixed, offers: [{offer: image/cover}], price: 1}
              - {name: off, offers: [{offer: text/outline}], enabled: false}
              - {name: hidden, offers: [{offer: text/outline}, {offer: image/hidden}]}
              - {name: plain, offers: [{offer: text/hello}], price: 1}
            """);
        _client = app.CreateClient();
        return app;
    }

    private static IEnumerable<string> Strings(JsonNode? list) => list!.AsArray().Select(v => v!.GetValue<string>());

    [Fact]
    public async Task TheListingShowsLiveDealsWithInputsPricesStepsAndAddons()
    {
        var deals = (await _client.GetFromJsonAsync<JsonObject>("/svc/"))!["deals"]!.AsArray();

        Assert.Equal(["blog-pack", "fixed", "plain"], deals.Select(d => d!["name"]!.GetValue<string>()));
        var pack = deals[0]!;
        Assert.Equal("/svc/deal/blog-pack/", pack["path"]!.GetValue<string>());
        // The draft takes the outline as {input}: only its {tone} is the client's.
        Assert.Equal(["topic", "tone"], Strings(pack["inputs"]));
        Assert.Equal((9, 8), (pack["list_price"]!.GetValue<long>(), pack["price"]!.GetValue<long>()));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            [{"offer": "text/outline", "pipeline": "none"}, {"offer": "text/draft", "pipeline": "overwrite"}]
            """), pack["steps"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            [{"offer": "text/tweet", "pipeline": "overwrite", "list_price": 2, "inputs": [], "available": true},
             {"offer": "image/cover", "pipeline": "none", "list_price": 4, "inputs": ["style"], "available": true},
             {"offer": "image/hidden", "pipeline": "none", "list_price": 1, "inputs": ["what"], "available": false}]
            """), pack["addons"]), pack["addons"]!.ToJsonString());
        Assert.Equal((4, 1), (deals[1]!["list_price"]!.GetValue<long>(), deals[1]!["price"]!.GetValue<long>()));
    }

    [Fact]
    public async Task TheOpenApiDocumentHasEachLiveDealsPurchaseAndQuote()
    {
        var doc = (await _client.GetFromJsonAsync<JsonObject>("/svc/openapi.json"))!;

        var paths = doc["paths"]!.AsObject();
        Assert.Contains("/svc/deal/blog-pack/", paths.Select(p => p.Key));
        Assert.Contains("/svc/deal/fixed/quote", paths.Select(p => p.Key));
        Assert.DoesNotContain(paths, p => p.Key.StartsWith("/svc/deal/off/", StringComparison.Ordinal) || p.Key.StartsWith("/svc/deal/hidden/", StringComparison.Ordinal));
        var post = paths["/svc/deal/blog-pack/"]!["post"]!;
        var body = post["requestBody"]!["content"]!["application/json"]!["schema"]!;
        Assert.Equal(["inputs"], Strings(body["required"]));
        var inputs = body["properties"]!["inputs"]!;
        Assert.Equal(["topic", "tone"], Strings(inputs["required"]));
        Assert.Equal(["topic", "tone", "style"], inputs["properties"]!.AsObject().Select(p => p.Key));
        Assert.Equal(["text/tweet", "image/cover"], Strings(body["properties"]!["addons"]!["items"]!["enum"]));
        Assert.Equal(["200", "202", "400", "401", "402", "404", "413", "415", "429", "503"], post["responses"]!.AsObject().Select(r => r.Key).Order());
        // Nothing to require: no "required" list at all rather than an empty one
        // (the endpoint takes a body without "inputs" then), for a deal as for an offer.
        var plain = paths["/svc/deal/plain/"]!["post"]!["requestBody"]!["content"]!["application/json"]!["schema"]!.AsObject();
        Assert.False(plain.ContainsKey("required"));
        Assert.False(plain["properties"]!["inputs"]!.AsObject().ContainsKey("required"));
        var hello = paths["/svc/text/hello/"]!["post"]!["requestBody"]!["content"]!["application/json"]!["schema"]!.AsObject();
        Assert.False(hello.ContainsKey("required"));
        Assert.DoesNotContain(Required(doc), list => list.Count == 0);
        var quote = paths["/svc/deal/blog-pack/quote"]!["get"]!;
        Assert.Equal("addons", quote["parameters"]![0]!["name"]!.GetValue<string>());
        // Public: no security requirement (the document has none at its top).
        Assert.Null(doc["security"]);
        Assert.Empty(quote["security"]?.AsArray() ?? []);
        Assert.NotEmpty(post["security"]!.AsArray());
        // Every $ref resolves inside the document, and operation ids stay unique.
        foreach (var reference in Refs(doc))
        {
            var target = reference.TrimStart('#', '/').Split('/').Aggregate((JsonNode?)doc, (node, part) => node?[part]);
            Assert.True(target is not null, $"unresolved $ref {reference}");
        }
        var operationIds = paths.SelectMany(p => p.Value!.AsObject().Select(o => (o.Value as JsonObject)?["operationId"]?.GetValue<string>()).OfType<string>()).ToList();
        Assert.Equal(operationIds.Count, operationIds.Distinct().Count());
        Assert.Contains("Quote_blog_pack", operationIds);
    }

    /// <summary>Every "required" list of a schema in the document (not the booleans of parameters and bodies).</summary>
    private static IEnumerable<JsonArray> Required(JsonNode? node) => node switch
    {
        JsonObject obj => obj.SelectMany(p => p.Key == "required" && p.Value is JsonArray list ? [list] : Required(p.Value)),
        JsonArray arr => arr.SelectMany(Required),
        _ => [],
    };

    private static IEnumerable<string> Refs(JsonNode? node) => node switch
    {
        JsonObject obj => obj.SelectMany(p => p.Key == "$ref" ? [p.Value!.GetValue<string>()] : Refs(p.Value)),
        JsonArray arr => arr.SelectMany(Refs),
        _ => [],
    };

    [Theory]
    [InlineData("", 8, 0, "")]
    [InlineData("?addons=", 8, 0, "")]
    [InlineData("?addons=text/tweet", 8, 2, "text/tweet")]                                // 1.6
    [InlineData("?addons=image/cover,%20text/tweet", 8, 5, "text/tweet,image/cover")]     // 4.8; in the deal's order
    [InlineData("?addons=text/tweet&addons=image/cover", 8, 5, "text/tweet,image/cover")]
    public async Task AQuoteIsThePriceAndItsBreakdownWithoutAKeyOrACharge(string query, long primary, long addons, string chosen)
    {
        var quote = (await _client.GetFromJsonAsync<JsonObject>("/svc/deal/blog-pack/quote" + query))!;

        Assert.Equal(primary + addons, quote["price"]!.GetValue<long>());
        Assert.Equal("blog-pack", quote["deal"]!.GetValue<string>());
        Assert.Equal((9, 10, primary), (quote["primary"]!["list_price"]!.GetValue<long>(), quote["primary"]!["modifier"]!.GetValue<int>(), quote["primary"]!["price"]!.GetValue<long>()));
        Assert.Equal(addons, quote["addons"]!["price"]!.GetValue<long>());
        var steps = quote["steps"]!.AsArray();
        Assert.Equal(primary + addons, steps.Sum(s => s!["price"]!.GetValue<long>()));
        // Chosen add-ons run after the offers, in the deal's order.
        string[] expected = chosen.Length == 0 ? [] : chosen.Split(',');
        Assert.Equal(expected, Strings(quote["addons"]!["chosen"]));
        Assert.Equal(["text/outline", "text/draft", .. expected], steps.Select(s => s!["offer"]!.GetValue<string>()));
        Assert.Equal(0, Ledger.RequestCount(App.Store));
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("off")]       // disabled
    [InlineData("hidden")]    // one of its offers is disabled
    public async Task AQuoteOfAnUnknownOrUnavailableDealIs404(string name) =>
        await Problem(await _client.GetAsync($"/svc/deal/{name}/quote"), HttpStatusCode.NotFound, "unknown_deal");

    [Fact]
    public async Task BadAddonsAre400WithEachNamed()
    {
        var problem = await Problem(
            await _client.GetAsync("/svc/deal/blog-pack/quote?addons=text/nope,image/cover,image/cover,image/hidden"), HttpStatusCode.BadRequest, "invalid_addons");

        var errors = problem["errors"]!.AsObject();
        Assert.Equal(["text/nope", "image/cover", "image/hidden"], errors.Select(e => e.Key));
        Assert.StartsWith("is not an add-on of this deal (its add-ons: text/tweet, image/cover, image/hidden)", errors["text/nope"]!.GetValue<string>());
        Assert.Equal("is chosen more than once", errors["image/cover"]!.GetValue<string>());
        Assert.Equal("is not available now", errors["image/hidden"]!.GetValue<string>());
        await Problem(await _client.GetAsync("/svc/deal/fixed/quote?addons=text/tweet"), HttpStatusCode.BadRequest, "invalid_addons");
    }
}
