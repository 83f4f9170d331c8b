namespace Switchboard.Tests.Keys;

/// <summary>
/// <c>/svc/me/keys</c>: a user lists its keys and makes children of the calling key, never
/// broader (scopes inside, limits at most the caller's, its purchases counted against the
/// caller's too); it revokes the calling key or those under it, never another. Each refusal has
/// its problem and changes nothing.
/// </summary>
public abstract class MyKeysTests(StoreKind kind) : AppTests
{
    private TestUser _alice = null!;
    private HttpClient _scoped = null!;
    private string _scopedPrefix = "";

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: KeyLimitTests.Catalog);
        _alice = await app.AddUserAsync("alice", 1000);
        var scoped = await app.CliJsonAsync("keys", "create", "alice", "--scope", "text/*", "--budget", "20", "--budget-period", "day", "--rpm", "100");
        _scoped = app.ClientFor(scoped["api_key"]!.GetValue<string>());
        _scopedPrefix = scoped["prefix"]!.GetValue<string>();
        return app;
    }

    private long Keys => App.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM api_keys"));

    private static async Task<(HttpResponseMessage Response, JsonObject Body)> Create(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/svc/me/keys", body);
        return (response, (await response.Content.ReadFromJsonAsync<JsonObject>())!);
    }

    [Fact]
    public async Task AChildTakesTheCallersLimitsWhereItSaysNothingAndIsShownOnce()
    {
        var (response, child) = await Create(_scoped, new { name = "worker", scopes = new[] { "text/shout" }, budget = 10 });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl!.ToString());
        Assert.Equal(["text/shout"], child["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.Equal(10, child["budget"]!.GetValue<long>());
        Assert.Equal("day", child["budget_period"]!.GetValue<string>());
        Assert.Equal(100, child["rpm"]!.GetValue<int>());
        Assert.Equal(_scopedPrefix, child["parent"]!.GetValue<string>());
        var list = (await _scoped.GetFromJsonAsync<JsonObject>("/svc/me/keys"))!["keys"]!.AsArray();
        Assert.Equal(3, list.Count);
        Assert.True(list.Single(k => k!["prefix"]!.GetValue<string>() == _scopedPrefix)!["caller"]!.GetValue<bool>());
        Assert.DoesNotContain(list, k => k!.AsObject().ContainsKey("api_key"));

        var worker = App.ClientFor(child["api_key"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Accepted, (await worker.PostJsonAsync("/svc/text/shout/", new { word = "a" })).StatusCode);
        await ProblemAssert.Problem(await worker.PostJsonAsync("/svc/text/brief/", new { word = "a" }), HttpStatusCode.Forbidden, "key_scope");
    }

    [Theory]
    [InlineData("""{"scopes": ["*"]}""", "scopes must fall inside")]
    [InlineData("""{"scopes": ["deal:pair"]}""", "scopes must fall inside")]
    [InlineData("""{"budget": 21}""", "budget must be at most")]
    [InlineData("""{"budget": 5, "budget_period": "month"}""", "budget must be at most")]
    [InlineData("""{"rpm": 101}""", "rpm must be at most")]
    public async Task AChildBroaderThanTheCallerIsRefused(string body, string message)
    {
        var response = await _scoped.PostAsync("/svc/me/keys", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        var problem = await ProblemAssert.Problem(response, HttpStatusCode.Forbidden, "key_broader_than_caller");
        Assert.Contains(message, problem["detail"]!.GetValue<string>());
        Assert.Equal(2, Keys);
    }

    [Theory]
    [InlineData("""{"rpm": "fast"}""", HttpStatusCode.BadRequest, "invalid_key")]
    [InlineData("""{"colour": "red"}""", HttpStatusCode.BadRequest, "invalid_key")]
    [InlineData("""{"expires": "soonish"}""", HttpStatusCode.BadRequest, "invalid_key")]
    [InlineData("""{"scopes": []}""", HttpStatusCode.BadRequest, "invalid_key")]
    [InlineData("""[1, 2]""", HttpStatusCode.BadRequest, "invalid_json")]
    [InlineData("""{"name": """, HttpStatusCode.BadRequest, "invalid_json")]
    [InlineData("""{"\ud800": 1}""", HttpStatusCode.BadRequest, "invalid_json")]
    [InlineData("""{"name": "\ud800"}""", HttpStatusCode.BadRequest, "invalid_json")]
    [InlineData("""{"name": "a", "name": "b"}""", HttpStatusCode.BadRequest, "invalid_json")]
    public async Task ABadKeyBodyIsAProblemAndMakesNoKey(string body, HttpStatusCode status, string code)
    {
        var response = await _alice.Client.PostAsync("/svc/me/keys", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        await ProblemAssert.Problem(response, status, code);
        Assert.Equal(2, Keys);
    }

    [Fact]
    public async Task AnUnlimitedCallerMaySetAnyLimit()
    {
        var (response, child) = await Create(_alice.Client, new { scopes = new[] { "*" }, rpm = 5000, max_concurrent = 9, expires = "30d" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(5000, child["rpm"]!.GetValue<int>());
    }

    [Fact]
    public async Task AChildsPurchasesCountAgainstItsParentsBudget()
    {
        var (_, first) = await Create(_scoped, new { budget = 15 });
        var (_, second) = await Create(_scoped, new { budget = 15 });
        var one = App.ClientFor(first["api_key"]!.GetValue<string>());
        var two = App.ClientFor(second["api_key"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.Accepted, (await one.PostJsonAsync("/svc/text/shout/", new { word = "a" })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await one.PostJsonAsync("/svc/text/shout/", new { word = "b" })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await two.PostJsonAsync("/svc/text/shout/", new { word = "c" })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await two.PostJsonAsync("/svc/text/shout/", new { word = "d" })).StatusCode);
        var before = _alice.Balance;
        // The second child has spent 10 of its own 15, but the parent's 20 are gone.
        var problem = await ProblemAssert.Problem(await two.PostJsonAsync("/svc/text/shout/", new { word = "e" }), HttpStatusCode.PaymentRequired, "key_budget_exhausted");

        Assert.Equal(_scopedPrefix, problem["key"]!.GetValue<string>());
        Assert.Equal(before, _alice.Balance);
    }

    [Fact]
    public async Task AKeyRevokesItselfOrItsChildrenButNoOtherKey()
    {
        var (_, child) = await Create(_scoped, new { name = "child" });
        var childClient = App.ClientFor(child["api_key"]!.GetValue<string>());
        var alicePrefix = _alice.Key[..11];

        await ProblemAssert.Problem(await childClient.DeleteAsync($"/svc/me/keys/{_scopedPrefix}"), HttpStatusCode.NotFound, "key_not_found");
        await ProblemAssert.Problem(await _scoped.DeleteAsync($"/svc/me/keys/{alicePrefix}"), HttpStatusCode.NotFound, "key_not_found");
        await ProblemAssert.Problem(await _scoped.DeleteAsync("/svc/me/keys/sb_nothere"), HttpStatusCode.NotFound, "key_not_found");
        Assert.Equal(0, App.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NOT NULL")));

        // Revoking the parent takes the child with it.
        var response = await _scoped.DeleteAsync($"/svc/me/keys/{_scopedPrefix}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, (await response.Content.ReadFromJsonAsync<JsonObject>())!["revoked"]!.GetValue<int>());
        App.Refresh();
        await ProblemAssert.Problem(await childClient.GetAsync("/svc/me/keys"), HttpStatusCode.Unauthorized, "invalid_api_key");
        Assert.Equal(HttpStatusCode.OK, (await _alice.Client.GetAsync("/svc/me/keys")).StatusCode);
    }
}

public sealed class MyKeysOnSqlite() : MyKeysTests(StoreKind.Sqlite);

public sealed class MyKeysOnPostgres() : MyKeysTests(StoreKind.Postgres);
