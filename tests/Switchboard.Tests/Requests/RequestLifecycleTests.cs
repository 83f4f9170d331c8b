namespace Switchboard.Tests.Requests;

public abstract class RequestLifecycleTests(StoreKind kind) : AppTests
{
    public const string Catalog = """
        handlers:
          - {id: echo.render, credits: 1, resource: local}
        offers:
          - {service: text, action: shout, handler: echo.render, price: 5, prompt_template: "Say {word} loudly to {name}", create_qty: 2, expiration: 3600}
          - {service: text, action: flaky, handler: echo.render, price: 3, prompt_template: "Eventually {thing}", params: {fail_times: 2}}
          - {service: text, action: broken, handler: echo.render, price: 4, prompt_template: "Never {thing}", params: {fail: "the model is on strike"}}
          - {service: text, action: hopeless, handler: echo.render, price: 2, prompt_template: "Always {thing}", params: {fail_times: 99}}
          - {service: text, action: slow, handler: echo.render, price: 7, prompt_template: "Slowly {thing}", params: {delay_ms: 30000}}
          - {service: text, action: brief, handler: echo.render, price: 1, prompt_template: "Briefly {thing}", expiration: 1}
        """;

    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: Catalog);
        _alice = await app.AddUserAsync("alice", 100);
        return app;
    }

    private Task<HttpResponseMessage> Post(string path, object body, string? idempotencyKey = null) =>
        _alice.Client.PostJsonAsync(path, body, idempotencyKey);

    [Fact]
    public async Task AnAcceptedRequestRunsAndReturnsOneRenderedResultPerQuantity()
    {
        var response = await Post("/svc/text/shout/", new { word = "hi", name = "Bob" });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = accepted["id"]!.GetValue<string>();
        Assert.Equal("queued", accepted["status"]!.GetValue<string>());
        Assert.Equal($"/svc/request/{id}/", accepted["url"]!.GetValue<string>());
        Assert.Equal($"/svc/request/{id}/", response.Headers.Location!.OriginalString);

        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id);
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal(["Say hi loudly to Bob #1", "Say hi loudly to Bob #2"], done["results"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal("offer", done["kind"]!.GetValue<string>());
        Assert.Equal(1, done["attempts"]!.GetValue<int>());
        Assert.NotNull(done["expires_at"]);
        Assert.Equal(95, _alice.Balance);
        Assert.Equal(1, Ledger.Count(App.Store, "charge", id));
    }

    [Fact]
    public async Task TheSameInputsAgainReturnTheExistingRequestWithoutChargingTwice()
    {
        var first = await Post("/svc/text/shout/", new { word = "hi", name = "Bob" });
        var id = await SwitchboardFactory.IdOf(first);
        await SwitchboardFactory.WaitForEnd(_alice.Client, id);

        // Same inputs in another key order: still the same request.
        var second = await _alice.Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/svc/text/shout/")
        {
            Content = new StringContent("""{"name":"Bob","word":"hi"}""", System.Text.Encoding.UTF8, "application/json"),
        });

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var existing = (await second.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(id, existing["id"]!.GetValue<string>());
        Assert.Equal("succeeded", existing["status"]!.GetValue<string>());
        Assert.Equal(95, _alice.Balance);
        Assert.Equal(1, Ledger.Count(App.Store, "charge", id));
    }

    [Fact]
    public async Task ConcurrentIdenticalSubmissionsChargeOnce()
    {
        // From many clients at once (each its own connection), as well as several from one.
        var clients = Enumerable.Range(0, 10).Select(_ => App.ClientFor(_alice.Key)).Append(_alice.Client).ToList();
        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            clients[i % clients.Count].PostAsJsonAsync("/svc/text/shout/", new { word = "race", name = "all" })));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Accepted);
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK));
        var ids = (await Task.WhenAll(responses.Select(SwitchboardFactory.IdOf))).Distinct().ToList();
        Assert.Single(ids);
        Assert.Equal(1, Ledger.Count(App.Store, "charge", ids[0]));
        Assert.Equal(95, _alice.Balance);
        Ledger.AssertAudited(App.Store);
    }

    [Fact]
    public async Task AnIdempotencyKeyMakesADeliberateRerunWithItsOwnCharge()
    {
        var first = await SwitchboardFactory.IdOf(await Post("/svc/text/shout/", new { word = "hi", name = "Bob" }));
        var second = await Post("/svc/text/shout/", new { word = "hi", name = "Bob" }, idempotencyKey: "run-2");

        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        var secondId = await SwitchboardFactory.IdOf(second);
        Assert.NotEqual(first, secondId);
        await SwitchboardFactory.WaitForEnd(_alice.Client, secondId);
        Assert.Equal(90, _alice.Balance);
    }

    [Fact]
    public async Task TransientFailuresAreRetriedUntilTheySucceed()
    {
        var id = await SwitchboardFactory.IdOf(await Post("/svc/text/flaky/", new { thing = "works" }));

        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id);

        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal(3, done["attempts"]!.GetValue<int>());
        Assert.Equal(["Eventually works #1"], done["results"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal(97, _alice.Balance);
    }

    [Fact]
    public async Task APermanentFailureFailsTheRequestAndRefundsItOnce()
    {
        var id = await SwitchboardFactory.IdOf(await Post("/svc/text/broken/", new { thing = "x" }));

        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id);

        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Equal("echo_failed", done["error"]!["code"]!.GetValue<string>());
        Assert.Equal("the model is on strike", done["error"]!["message"]!.GetValue<string>());
        Assert.Equal(1, done["attempts"]!.GetValue<int>());
        Assert.Empty(done["results"]!.AsArray());
        Assert.Equal(100, _alice.Balance);
        Assert.Equal(1, Ledger.Count(App.Store, "refund", id));
    }

    [Fact]
    public async Task ExhaustedRetriesFailWithTheLastErrorAndRefund()
    {
        var id = await SwitchboardFactory.IdOf(await Post("/svc/text/hopeless/", new { thing = "x" }));

        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id);

        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Equal("echo_transient", done["error"]!["code"]!.GetValue<string>());
        Assert.Equal(3, done["attempts"]!.GetValue<int>());
        Assert.Equal(100, _alice.Balance);
    }

    [Fact]
    public async Task AFailedRequestSubmittedAgainRunsAgainAndIsChargedAgain()
    {
        var id = await SwitchboardFactory.IdOf(await Post("/svc/text/broken/", new { thing = "again" }));
        await SwitchboardFactory.WaitForEnd(_alice.Client, id);

        var again = await Post("/svc/text/broken/", new { thing = "again" });

        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal(id, await SwitchboardFactory.IdOf(again));
        var done = await SwitchboardFactory.WaitFor(_alice.Client, id, TimeSpan.FromSeconds(20), "failed");
        Assert.Equal(2, done["run"]!.GetValue<int>());
        Assert.Equal(2, Ledger.Count(App.Store, "charge", id));
        Assert.Equal(2, Ledger.Count(App.Store, "refund", id));
        Assert.Equal(100, _alice.Balance);
    }

    [Fact]
    public async Task CancellingARunningRequestStopsItAndRefunds()
    {
        var id = await SwitchboardFactory.IdOf(await Post("/svc/text/slow/", new { thing = "x" }));
        await SwitchboardFactory.WaitFor(_alice.Client, id, TimeSpan.FromSeconds(10), "running");

        var cancel = await _alice.Client.DeleteAsync($"/svc/request/{id}/");

        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("cancelled", (await cancel.Content.ReadFromJsonAsync<JsonObject>())!["status"]!.GetValue<string>());
        Assert.Equal(100, _alice.Balance);
        // A second cancel finds it finished, and refunds nothing more.
        var again = await _alice.Client.DeleteAsync($"/svc/request/{id}/");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("request_finished", (await again.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
        // Time passes on purpose: nothing may bring the cancelled request back.
        await Task.Delay(300);
        Assert.Equal("cancelled", (await SwitchboardFactory.Get(_alice.Client, id))["status"]!.GetValue<string>());
        Assert.Equal(1, Ledger.Count(App.Store, "refund", id));
    }

    [Fact]
    public async Task ResultsPastTheirExpirationArePurged()
    {
        var id = await SwitchboardFactory.IdOf(await Post("/svc/text/brief/", new { thing = "x" }));
        await SwitchboardFactory.WaitFor(_alice.Client, id, TimeSpan.FromSeconds(10), "succeeded");

        var expired = await SwitchboardFactory.WaitFor(_alice.Client, id, TimeSpan.FromSeconds(10), "expired");

        Assert.Empty(expired["results"]!.AsArray());
        // Expired results may be bought again: a new run under the same id.
        var again = await Post("/svc/text/brief/", new { thing = "x" });
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        await SwitchboardFactory.WaitFor(_alice.Client, id, TimeSpan.FromSeconds(10), "succeeded", "expired");
        Assert.Equal(98, _alice.Balance);
    }

    [Fact]
    public async Task AnotherUsersRequestIsNotFound()
    {
        var id = await SwitchboardFactory.IdOf(await Post("/svc/text/shout/", new { word = "secret", name = "me" }));
        var (_, otherKey) = await Infrastructure.Cli.CreateUser(App.Store, "mallory", 10);
        App.Refresh();
        var other = App.ClientFor(otherKey);

        var get = await other.GetAsync($"/svc/request/{id}/");
        var delete = await other.DeleteAsync($"/svc/request/{id}/");

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal("request_not_found", (await get.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
    }

    [Fact]
    public async Task CatalogChangesReachARunningServerWithoutARestart()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await Post("/svc/image/draw/", new { what = "cat" })).StatusCode);

        await App.ApplyCatalogAsync("""
            offers:
              - {service: image, action: draw, handler: echo.render, price: 1, prompt_template: "Draw {what}"}
            """);
        var response = await Wait.For(() => Post("/svc/image/draw/", new { what = "cat" }), r => r.StatusCode != HttpStatusCode.NotFound,
            TimeSpan.FromSeconds(1), "the new offer to be live");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task MeShowsTheBalance()
    {
        var me = (await _alice.Client.GetFromJsonAsync<JsonObject>("/svc/me/"))!;

        Assert.Equal("alice", me["name"]!.GetValue<string>());
        Assert.Equal(100, me["balance"]!.GetValue<long>());
        Assert.Equal(100, me["credits"]!.GetValue<long>());
        Assert.Empty(me["offers"]!.AsArray());
    }
}

public sealed class RequestLifecycleOnSqlite() : RequestLifecycleTests(StoreKind.Sqlite);

public sealed class RequestLifecycleOnPostgres() : RequestLifecycleTests(StoreKind.Postgres);
