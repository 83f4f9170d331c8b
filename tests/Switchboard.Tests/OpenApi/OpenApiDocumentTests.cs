using System.Text;
using Switchboard.Errors;

namespace Switchboard.Tests.OpenApi;

/// <summary>
/// The two documents Microsoft.AspNetCore.OpenApi builds from the endpoints: each holds its own
/// API's every route (the client document also each live offer and deal, following a catalog
/// change without a restart), in OpenAPI 3.1, public, and the shapes they give match real
/// answers. On a real SQLite store, in memory.
/// </summary>
public sealed class OpenApiDocumentTests : AppTests
{
    private HttpClient _admin = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite, catalog: TestCatalogs.Shout + """

            deals:
              - {name: pack, offers: [{offer: text/shout, pipeline: none}]}
            """);
        _admin = (await app.AddAdminAsync("root", "--credits", "100")).Client;
        return app;
    }

    private async Task<JsonObject> Document(string url)
    {
        // Anonymous: the documents are public.
        var response = await App.CreateClient().GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var doc = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.StartsWith("3.1", doc["openapi"]!.GetValue<string>());
        return doc;
    }

    private static List<string> Paths(JsonObject doc) => [.. doc["paths"]!.AsObject().Select(p => p.Key)];

    [Fact]
    public async Task TheClientDocumentHasEveryClientRouteAndEachLiveOfferAndDeal()
    {
        var doc = await Document("/svc/openapi.json");

        Assert.Equal(
            ["/svc/", "/svc/deal/pack/", "/svc/deal/pack/quote", "/svc/me/", "/svc/me/keys/", "/svc/me/keys/{prefix}", "/svc/me/webhooks/", "/svc/me/webhooks/secret", "/svc/me/webhooks/{id}", "/svc/me/webhooks/{id}/deliveries", "/svc/me/webhooks/{id}/deliveries/{which}/resend", "/svc/me/webhooks/{id}/rotate", "/svc/request/{id}/", "/svc/request/{id}/events", "/svc/request/{id}/results/{sha256}", "/svc/request/{id}/ws", "/svc/requests/", "/svc/text/shout/"],
            Paths(doc).Order(StringComparer.Ordinal));
        // A binary result's bytes: not JSON, revalidated by its hash.
        var result = doc["paths"]!["/svc/request/{id}/results/{sha256}"]!["get"]!;
        Assert.NotNull(result["responses"]!["200"]!["content"]!["application/octet-stream"]);
        Assert.NotNull(result["responses"]!["304"]);
        Assert.NotNull(result["responses"]!["404"]!["content"]!["application/problem+json"]);
        // The generic routes stand for the catalog: each offer's path copies their answers.
        var shout = doc["paths"]!["/svc/text/shout/"]!["post"]!;
        Assert.Equal("text_shout", shout["operationId"]!.GetValue<string>());
        Assert.Equal("#/components/schemas/Accepted", shout["responses"]!["202"]!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>());
        Assert.Equal("#/components/schemas/ProblemDetails", shout["responses"]!["402"]!["content"]!["application/problem+json"]!["schema"]!["$ref"]!.GetValue<string>());
        Assert.NotEmpty(shout["security"]!.AsArray());
        // The problem schema carries the code, with every listed code.
        var code = doc["components"]!["schemas"]!["ProblemDetails"]!["properties"]!["code"]!;
        var codes = code["anyOf"]![0]!["enum"]!.AsArray().Select(c => c!.GetValue<string>()).ToList();
        Assert.Contains("invalid_inputs", codes);
        Assert.Equal(ProblemCodes.All.Count(p => p.Status != 0), codes.Count);
        Assert.DoesNotContain(Paths(doc), p => p.StartsWith("/admin", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ANewOfferAppearsInTheDocumentWithoutARestart()
    {
        Assert.DoesNotContain("/svc/image/draw/", Paths(await Document("/svc/openapi.json")));

        var put = await _admin.PutAsync("/admin/api/offers/image/draw", new StringContent(
            """{"handler": "echo.render", "price": 2, "prompt_template": "Draw {what} in {style}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        // The process takes the change at its next poll of the store (100 ms here); a document
        // cached for the old catalog (up to a minute) would miss the deadline.
        var doc = await Wait.For(() => Document("/svc/openapi.json"), d => Paths(d).Contains("/svc/image/draw/"), TimeSpan.FromSeconds(15),
            "the new offer in the client document", TimeSpan.FromMilliseconds(100));
        var body = doc["paths"]!["/svc/image/draw/"]!["post"]!["requestBody"]!["content"]!["application/json"]!["schema"]!;
        Assert.Equal(["what", "style"], body["required"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.False(body["additionalProperties"]!.GetValue<bool>());
    }

    [Fact]
    public async Task TheAdminDocumentHasEveryAdminRouteAndNoOther()
    {
        var doc = await Document("/admin/api/openapi.json");

        var paths = Paths(doc);
        Assert.All(paths, p => Assert.StartsWith("/admin/api/", p));
        Assert.Contains("/admin/api/users", paths);
        Assert.Contains("/admin/api/requests/{id}/retry", paths);
        Assert.Contains("/admin/api/requests/retry", paths);
        Assert.Contains("/admin/api/configs/{id}/diff", paths);
        // Every operation is named, summarised, tagged, says it needs a key, and answers 403 to a non-admin.
        var operations = doc["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject().Select(o => o.Value!.AsObject())).ToList();
        // 39 before issue 19's webhooks (9 operations on /admin/api/users/{user}/webhooks…), 48
        // before issue 20's POST /admin/api/users/{name}/forget, 49 before issue 21's bulk
        // POST /admin/api/requests/retry and /cancel, 51 before issue 22's plans (5 on /admin/api/plans…)
        // and PATCH /admin/api/users/{name}/scheduling.
        Assert.Equal(57, operations.Count);
        Assert.All(operations, o =>
        {
            Assert.NotNull(o["operationId"]);
            Assert.NotNull(o["summary"]);
            Assert.NotEmpty(o["tags"]!.AsArray());
            Assert.NotEmpty(o["security"]!.AsArray());
            Assert.NotNull(o["responses"]!["403"]);
        });
    }

    [Fact]
    public async Task TheDocumentedShapesAreTheAnswersShapes()
    {
        var doc = await Document("/svc/openapi.json");
        var schemas = doc["components"]!["schemas"]!;
        IEnumerable<string> Properties(string schema) => schemas[schema]!["properties"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal);
        IEnumerable<string> Keys(JsonNode node) => node.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal);

        var submitted = await _admin.PostAsJsonAsync("/svc/text/shout/", new { word = "hi" });
        var accepted = (await submitted.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(Properties("Accepted"), Keys(accepted));
        var request = await SwitchboardFactory.WaitFor(_admin, accepted["id"]!.GetValue<string>(), TimeSpan.FromSeconds(30), "succeeded");
        // The request object: every key it has is described (the optional deal and waiting ones too).
        Assert.Empty(Keys(request).Except(Properties("RequestView")));
        Assert.Equal(Properties("AccountView"), Keys((await _admin.GetFromJsonAsync<JsonObject>("/svc/me/"))!));
        Assert.Equal(Properties("OfferSpending"), Keys((await _admin.GetFromJsonAsync<JsonObject>("/svc/me/"))!["offers"]![0]!));
        var mine = (await _admin.GetFromJsonAsync<JsonObject>("/svc/requests/"))!;
        Assert.Equal(Properties("RequestList"), Keys(mine));
        Assert.Equal(Properties("RequestSummary"), Keys(mine["items"]![0]!));
        Assert.Equal(Properties("DealQuoteView"), Keys((await _admin.GetFromJsonAsync<JsonObject>("/svc/deal/pack/quote"))!));
        var listing = (await _admin.GetFromJsonAsync<JsonObject>("/svc/"))!;
        Assert.Equal(Properties("ActionListing"), Keys(listing["services"]![0]!["actions"]![0]!));
        Assert.Equal(Properties("DealListing"), Keys(listing["deals"]![0]!));
    }
}
