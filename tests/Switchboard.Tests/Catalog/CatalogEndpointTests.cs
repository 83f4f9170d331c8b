namespace Switchboard.Tests.Catalog;

public sealed class CatalogEndpointTests : AppTests
{
    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(StoreKind.Sqlite, catalog: TestCatalogs.OnEchoRender("""
        offers:
          - {service: text, action: shout, handler: echo.render, price: 5, prompt_template: "Say {word} to {name}", create_qty: 2, expiration: 60}
          - {service: image, action: draw, handler: echo.render, price: 9, prompt_template: "Draw {what}"}
          - {service: image, action: hidden, handler: echo.render, price: 9, prompt_template: "Hidden {what}", enabled: false}
        """));

    [Fact]
    public async Task TheServiceListShowsEveryLiveActionWithItsInputsAndPrice()
    {
        var list = (await App.CreateClient().GetFromJsonAsync<JsonObject>("/svc/"))!;

        var services = list["services"]!.AsArray();
        Assert.Equal(["image", "text"], services.Select(s => s!["name"]!.GetValue<string>()));
        var image = services[0]!["actions"]!.AsArray();
        Assert.Equal(["draw"], image.Select(a => a!["name"]!.GetValue<string>()));
        var shout = services[1]!["actions"]![0]!;
        Assert.Equal(["word", "name"], shout["inputs"]!.AsArray().Select(i => i!.GetValue<string>()));
        Assert.Equal(5, shout["price"]!.GetValue<int>());
        Assert.Equal(2, shout["create_qty"]!.GetValue<int>());
        Assert.Equal("/svc/text/shout/", shout["path"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheOpenApiDocumentHasOnePathPerLiveOfferWithItsVariablesRequired()
    {
        var doc = (await App.CreateClient().GetFromJsonAsync<JsonObject>("/svc/openapi.json"))!;

        Assert.StartsWith("3.", doc["openapi"]!.GetValue<string>());
        Assert.NotNull(doc["info"]!["title"]);
        var paths = doc["paths"]!.AsObject();
        Assert.Contains("/svc/text/shout/", paths.Select(p => p.Key));
        Assert.Contains("/svc/image/draw/", paths.Select(p => p.Key));
        Assert.DoesNotContain("/svc/image/hidden/", paths.Select(p => p.Key));
        var schema = paths["/svc/text/shout/"]!["post"]!["requestBody"]!["content"]!["application/json"]!["schema"]!;
        Assert.Equal(["word", "name"], schema["required"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.False(schema["additionalProperties"]!.GetValue<bool>());
        // Every $ref resolves inside the document.
        foreach (var reference in Refs(doc))
        {
            var target = reference.TrimStart('#', '/').Split('/').Aggregate((JsonNode?)doc, (node, part) => node?[part]);
            Assert.True(target is not null, $"unresolved $ref {reference}");
        }
        var operationIds = paths.SelectMany(p => p.Value!.AsObject().Where(o => o.Value is JsonObject op && op["operationId"] is not null).Select(o => o.Value!["operationId"]!.GetValue<string>())).ToList();
        Assert.Equal(operationIds.Count, operationIds.Distinct().Count());
    }

    private static IEnumerable<string> Refs(JsonNode? node) => node switch
    {
        JsonObject obj => obj.SelectMany(p => p.Key == "$ref" ? [p.Value!.GetValue<string>()] : Refs(p.Value)),
        JsonArray arr => arr.SelectMany(Refs),
        _ => [],
    };

    [Fact]
    public async Task HealthAndReadinessAnswer()
    {
        var client = App.CreateClient();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);
    }
}
