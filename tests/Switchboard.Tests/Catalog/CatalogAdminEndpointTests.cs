using System.Text;
using Switchboard.Catalog;

namespace Switchboard.Tests.Catalog;

/// <summary>
/// Handlers and offers in the admin JSON API (<c>/admin/api/handlers</c>, <c>/admin/api/offers</c>):
/// every answer code, checked by the rules of <c>catalog apply</c>; deletes refused while in use
/// and changing nothing; the live catalog following every write; on SQLite and PostgreSQL.
/// </summary>
public abstract class CatalogAdminEndpointTests(StoreKind kind) : AppTests
{
    private const string Handler = """{"credits": 1}""";
    private const string Offer = """{"handler": "echo.render", "price": 2, "prompt_template": "Say {word}"}""";

    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(kind);

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private static IEnumerable<string> Errors(JsonObject problem) => problem["errors"]!.AsArray().Select(e => e!.GetValue<string>());

    private async Task<HttpClient> StartWithAdmin() => (await App.AddAdminAsync()).Client;

    private CatalogSnapshot Stored() => App.Query(CatalogStore.Load);

    [Fact]
    public async Task AdminsCreateReadDisableAndDeleteHandlers()
    {
        var admin = await StartWithAdmin();

        var created = await admin.PutAsync("/admin/api/handlers/echo.render", Body("""{"credits": 3, "resource": "gpu"}"""));

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"id": "echo.render", "credits": 3, "resource": "gpu", "enabled": true}"""),
            await created.Content.ReadFromJsonAsync<JsonObject>()));
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/admin/api/handlers/echo.render", Body("""{"id": "echo.render", "credits": 2, "enabled": false}"""))).StatusCode);
        var list = (await admin.GetFromJsonAsync<JsonObject>("/admin/api/handlers"))!["handlers"]!.AsArray();
        var one = await admin.GetFromJsonAsync<JsonObject>("/admin/api/handlers/echo.render");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[{"id": "echo.render", "credits": 2, "resource": null, "enabled": false}]"""), list), list.ToJsonString());
        Assert.True(JsonNode.DeepEquals(list[0], one));
        Assert.False(Stored().Handlers["echo.render"].Enabled);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/admin/api/handlers/echo.render")).StatusCode);
        await Problem(await admin.GetAsync("/admin/api/handlers/echo.render"), HttpStatusCode.NotFound, "unknown_handler");
        await Problem(await admin.DeleteAsync("/admin/api/handlers/echo.render"), HttpStatusCode.NotFound, "unknown_handler");
        Assert.Empty(Stored().Handlers);
    }

    [Fact]
    public async Task AnInvalidHandlerIs400WithEveryErrorAndStoresNothing()
    {
        var admin = await StartWithAdmin();

        var invalid = await Problem(await admin.PutAsync("/admin/api/handlers/echo.render", Body("""{"credits": -1, "colour": "red", "enabled": "yes"}""")),
            HttpStatusCode.BadRequest, "invalid_handler");
        var unknown = await Problem(await admin.PutAsync("/admin/api/handlers/nope.none", Body(Handler)), HttpStatusCode.BadRequest, "invalid_handler");
        var renamed = await Problem(await admin.PutAsync("/admin/api/handlers/echo.render", Body("""{"id": "other.one", "credits": 1}""")),
            HttpStatusCode.BadRequest, "invalid_handler");
        await Problem(await admin.PutAsync("/admin/api/handlers/echo.render", Body("""{"credits": """)), HttpStatusCode.BadRequest, "invalid_json");
        await Problem(await admin.PutAsync("/admin/api/handlers/echo.render", Body("""[{"credits": 1}]""")), HttpStatusCode.BadRequest, "invalid_json");
        await Problem(await admin.PutAsync("/admin/api/handlers/echo.render", Body("""{"credits": 1, "credits": 2}""")), HttpStatusCode.BadRequest, "invalid_json");
        await Problem(await admin.PutAsync("/admin/api/handlers/echo.render",
            Body($$"""{"credits": 1, "resource": "{{new string('r', CatalogAdminEndpoints.MaxBodyBytes)}}"}""")), HttpStatusCode.BadRequest, "invalid_json");

        Assert.Equal(["unknown key 'colour'", "credits must be >= 0", "enabled must be true or false"], Errors(invalid));
        Assert.StartsWith("id no handler implementation named 'nope.none' (known: ", Assert.Single(Errors(unknown)));
        Assert.StartsWith("id \"other.one\" does not match the handler's path ('echo.render')", Assert.Single(Errors(renamed)));
        Assert.Empty(Stored().Handlers);
    }

    [Fact]
    public async Task AnOfferPutIsLiveAtOnceAndDisablingItTakesItOffTheApi()
    {
        var admin = await StartWithAdmin();
        var alice = (await App.AddUserAsync("alice", 100)).Client;
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/admin/api/handlers/echo.render", Body(Handler))).StatusCode);

        var created = await admin.PutAsync("/admin/api/offers/text/shout", Body("""
            {"handler": "echo.render", "price": 2, "prompt_template": "Say {word} in {tone}", "create_qty": 2, "params": {"loud": true}}
            """));

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var entry = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"service": "text", "action": "shout", "handler": "echo.render", "price": 2, "prompt_template": "Say {word} in {tone}",
             "create_qty": 2, "expiration": null, "params": {"loud": true}, "enabled": true}
            """), entry), entry.ToJsonString());
        Assert.True(JsonNode.DeepEquals(entry, await admin.GetFromJsonAsync<JsonObject>("/admin/api/offers/text/shout")));
        Assert.Single((await admin.GetFromJsonAsync<JsonObject>("/admin/api/offers"))!["offers"]!.AsArray());
        // No restart and no reload by hand: the version bump reaches the running catalog.
        await Until(async () => (await alice.PostAsJsonAsync("/svc/text/shout/", new { word = "hi", tone = "calm" })).StatusCode == HttpStatusCode.Accepted);

        entry["enabled"] = false;
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/admin/api/offers/text/shout", Body(entry.ToJsonString()))).StatusCode);

        await Until(async () => (await alice.PostAsJsonAsync("/svc/text/shout/", new { word = "hi", tone = "calm" })).StatusCode == HttpStatusCode.NotFound);
        await Problem(await alice.PostAsJsonAsync("/svc/text/shout/", new { word = "hi", tone = "calm" }), HttpStatusCode.NotFound, "unknown_service");
        Assert.False(Stored().FindOffer("text", "shout")!.Enabled);
    }

    [Fact]
    public async Task AnInvalidOfferIs400WithEveryErrorAndStoresNothing()
    {
        var admin = await StartWithAdmin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/admin/api/handlers/echo.render", Body(Handler))).StatusCode);

        var unknownHandler = await Problem(await admin.PutAsync("/admin/api/offers/text/shout", Body("""{"handler": "nope.none", "price": 1, "prompt_template": "x"}""")),
            HttpStatusCode.BadRequest, "invalid_offer");
        var invalid = await Problem(await admin.PutAsync("/admin/api/offers/text/shout", Body("""
            {"handler": "echo.render", "price": -1, "prompt_template": "Say {word", "create_qty": 0, "params": [1], "colour": "red"}
            """)), HttpStatusCode.BadRequest, "invalid_offer");
        var reserved = await Problem(await admin.PutAsync("/admin/api/offers/deal/shout", Body(Offer)), HttpStatusCode.BadRequest, "invalid_offer");
        var renamed = await Problem(await admin.PutAsync("/admin/api/offers/text/shout", Body("""{"action": "yell", "handler": "echo.render", "price": 1, "prompt_template": "x"}""")),
            HttpStatusCode.BadRequest, "invalid_offer");
        await Problem(await admin.PutAsync("/admin/api/offers/text/shout", Body("""price=1""")), HttpStatusCode.BadRequest, "invalid_json");
        await Problem(await admin.GetAsync("/admin/api/offers/text/shout"), HttpStatusCode.NotFound, "unknown_offer");
        await Problem(await admin.DeleteAsync("/admin/api/offers/text/shout"), HttpStatusCode.NotFound, "unknown_offer");

        Assert.Equal(["handler unknown handler 'nope.none' (define it under handlers)"], Errors(unknownHandler));
        Assert.Equal(
            ["unknown key 'colour'", "price must be >= 0", "create_qty must be between 1 and 100", "prompt_template unclosed '{' at position 4", "params must be a mapping"],
            Errors(invalid));
        Assert.Equal(["service 'deal' is reserved"], Errors(reserved));
        Assert.StartsWith("action \"yell\" does not match the offer's path ('shout')", Assert.Single(Errors(renamed)));
        Assert.Empty(Stored().Offers);
    }

    [Fact]
    public async Task DeletesInUseAre409AndChangeNothingAndADeletedOffersRequestsKeepWorking()
    {
        var admin = await StartWithAdmin();
        var alice = (await App.AddUserAsync("alice", 100)).Client;
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/admin/api/handlers/echo.render", Body(Handler))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/admin/api/offers/text/shout", Body(Offer))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/admin/api/offers/text/whisper", Body(Offer))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/admin/api/deals/pack", Body("""{"offers": [{"offer": "text/shout"}]}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/admin/api/deals/extra", Body("""
            {"offers": [{"offer": "text/whisper"}], "addons": [{"offer": "text/shout"}]}
            """))).StatusCode);
        var before = CatalogDocument.Export(Stored());
        var version = App.Query(c => Meta.Read(c, Meta.CatalogVersion));

        var handlerInUse = await Problem(await admin.DeleteAsync("/admin/api/handlers/echo.render"), HttpStatusCode.Conflict, "handler_in_use");
        var offerInUse = await Problem(await admin.DeleteAsync("/admin/api/offers/text/shout"), HttpStatusCode.Conflict, "offer_in_use");

        Assert.Equal(["text/shout", "text/whisper"], handlerInUse["offers"]!.AsArray().Select(o => o!.GetValue<string>()));
        Assert.Equal(["extra", "pack"], offerInUse["deals"]!.AsArray().Select(o => o!.GetValue<string>()));
        Assert.Contains("text/shout, text/whisper", handlerInUse["detail"]!.GetValue<string>());
        Assert.Equal(before, CatalogDocument.Export(Stored()));
        Assert.Equal(version, App.Query(c => Meta.Read(c, Meta.CatalogVersion)));

        // A request sold before the delete keeps its own handler, prompt and params.
        await Until(async () => (await alice.PostAsJsonAsync("/svc/text/shout/", new { word = "bye" })).StatusCode == HttpStatusCode.Accepted);
        var sold = await SwitchboardFactory.IdOf(await alice.PostAsJsonAsync("/svc/text/shout/", new { word = "last" }));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/admin/api/deals/pack")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/admin/api/deals/extra")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/admin/api/offers/text/shout")).StatusCode);

        await Until(async () => (await alice.PostAsJsonAsync("/svc/text/shout/", new { word = "bye" })).StatusCode == HttpStatusCode.NotFound);
        await Problem(await alice.PostAsJsonAsync("/svc/text/shout/", new { word = "bye" }), HttpStatusCode.NotFound, "unknown_action");
        var done = await SwitchboardFactory.WaitForEnd(alice, sold);
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal(["text/whisper"], Stored().Offers.Select(o => $"{o.Service}/{o.Action}"));
        await Problem(await admin.DeleteAsync("/admin/api/handlers/echo.render"), HttpStatusCode.Conflict, "handler_in_use");
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/admin/api/offers/text/whisper")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/admin/api/handlers/echo.render")).StatusCode);
        Assert.Empty(Stored().Handlers);
    }

    [Fact]
    public async Task TheCatalogAdminApiNeedsAnAdminKey()
    {
        await StartWithAdmin();
        var alice = (await App.AddUserAsync("alice", 100)).Client;
        using var anyone = App.CreateClient();

        foreach (var path in new[] { "/admin/api/handlers", "/admin/api/handlers/echo.render", "/admin/api/offers", "/admin/api/offers/text/shout" })
        {
            await Problem(await alice.GetAsync(path), HttpStatusCode.Forbidden, "admin_required");
            await Problem(await anyone.GetAsync(path), HttpStatusCode.Unauthorized, "missing_api_key");
        }
        await Problem(await alice.PutAsync("/admin/api/handlers/echo.render", Body(Handler)), HttpStatusCode.Forbidden, "admin_required");
        await Problem(await alice.PutAsync("/admin/api/offers/text/shout", Body(Offer)), HttpStatusCode.Forbidden, "admin_required");
        await Problem(await alice.DeleteAsync("/admin/api/handlers/echo.render"), HttpStatusCode.Forbidden, "admin_required");
        await Problem(await alice.DeleteAsync("/admin/api/offers/text/shout"), HttpStatusCode.Forbidden, "admin_required");
        Assert.Empty(Stored().Handlers);
    }

    private static Task Until(Func<Task<bool>> condition) =>
        Wait.Until(condition, TimeSpan.FromSeconds(10), "the live catalog to follow the store");
}

public sealed class CatalogAdminEndpointTestsOnSqlite() : CatalogAdminEndpointTests(StoreKind.Sqlite);

public sealed class CatalogAdminEndpointTestsOnPostgres() : CatalogAdminEndpointTests(StoreKind.Postgres);
