namespace Switchboard.Tests.Requests;

/// <summary>
/// <c>/admin/api/requests</c>: search, detail with the ledger, retry (a new run, charged once
/// more, by the client's re-submit path) and cancel (the client's cancel), with the ledger and
/// the credits audit checked after each, and a problem with a stable code for each refusal.
/// </summary>
public abstract class RequestAdminEndpointTests(StoreKind kind) : AppTests
{
    public static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: text, action: shout, handler: echo.render, price: 5, prompt_template: "Say {word}"}
          - {service: text, action: broken, handler: echo.render, price: 4, prompt_template: "Never {thing}", params: {fail: "the model is on strike"}}
          - {service: text, action: late, handler: echo.render, price: 3, prompt_template: "Late {thing}", params: {delay_ms: 1000, fail: "too late"}}
          - {service: text, action: slow, handler: echo.render, price: 7, prompt_template: "Slowly {thing}", params: {delay_ms: 30000}}
          - {service: t, action: a, handler: echo.render, price: 10, prompt_template: "A({topic})"}
          - {service: t, action: fail, handler: echo.render, price: 6, prompt_template: "F[{input}]", params: {fail: "no luck"}}
        deals:
          - name: doomed
            offers:
              - {offer: t/a, pipeline: none}
              - {offer: t/fail, pipeline: overwrite}
            price: 12
        """);

    private TestUser _alice = null!;
    private TestUser _root = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: Catalog);
        _alice = await app.AddUserAsync("alice", 100);
        _root = await app.AddAdminAsync();
        return app;
    }

    private long Balance => Ledger.Balance(App.Store, _alice.Id);

    private long Charges(string id) => Ledger.Count(App.Store, "charge", id);

    private async Task<string> Submit(string path, object body, params string[] statuses)
    {
        var id = await _alice.Client.SubmitAsync(path, body);
        await SwitchboardFactory.WaitFor(_alice.Client, id, TimeSpan.FromSeconds(20), statuses);
        return id;
    }

    private Task<string> Failed(string thing = "x") => Submit("/svc/text/broken/", new { thing }, "failed");

    private Task<HttpResponseMessage> Retry(string id) => _root.Client.PostAsync($"/admin/api/requests/{id}/retry", null);

    private Task<HttpResponseMessage> Cancel(string id) => _root.Client.PostAsync($"/admin/api/requests/{id}/cancel", null);

    private async Task AuditPasses()
    {
        var audit = (await _root.Client.GetFromJsonAsync<JsonObject>("/admin/api/credits/audit"))!;
        Assert.True(audit["problems"]!.AsArray().Count == 0, audit.ToJsonString());
    }

    [Fact]
    public async Task SearchFiltersNewestFirstAPageAtATime()
    {
        var ok = await Submit("/svc/text/shout/", new { word = "one" }, "succeeded");
        var failed = await Failed();
        var second = await Submit("/svc/text/shout/", new { word = "two" }, "succeeded");

        var all = (await _root.Client.GetFromJsonAsync<JsonObject>("/admin/api/requests"))!["requests"]!.AsArray();
        Assert.Equal([second, failed, ok], all.Select(r => r!["id"]!.GetValue<string>()));
        Assert.Equal("text/shout", all[0]!["offer"]!.GetValue<string>());
        Assert.Equal("alice", all[0]!["user"]!.GetValue<string>());

        var onlyFailed = (await _root.Client.GetFromJsonAsync<JsonObject>("/admin/api/requests?status=failed&user=alice&offer=text/broken"))!["requests"]!.AsArray();
        Assert.Equal([failed], onlyFailed.Select(r => r!["id"]!.GetValue<string>()));
        Assert.Empty((await _root.Client.GetFromJsonAsync<JsonObject>("/admin/api/requests?user=root"))!["requests"]!.AsArray());
        var future = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds();
        Assert.Empty((await _root.Client.GetFromJsonAsync<JsonObject>($"/admin/api/requests?from={future}"))!["requests"]!.AsArray());
        Assert.Equal(3, (await _root.Client.GetFromJsonAsync<JsonObject>($"/admin/api/requests?to={future}"))!["requests"]!.AsArray().Count);

        var first = (await _root.Client.GetFromJsonAsync<JsonObject>("/admin/api/requests?limit=2"))!;
        Assert.Equal([second, failed], first["requests"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()));
        var older = (await _root.Client.GetFromJsonAsync<JsonObject>($"/admin/api/requests?limit=2&before={first["before"]}"))!;
        Assert.Equal([ok], older["requests"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()));
        Assert.Null(older["before"]);
    }

    [Theory]
    [InlineData("status=bogus", "status must be one of")]
    [InlineData("from=yesterday", "from must be a time")]
    [InlineData("to=2026-13-45T99:00", "to must be a time")]
    [InlineData("limit=0", "limit must be a whole number")]
    [InlineData("limit=abc", "limit must be a whole number")]
    [InlineData("limit=501", "limit must be a whole number")]
    [InlineData("before=-3", "before must be the cursor")]
    [InlineData("offer=noslash", "offer must be service/action")]
    [InlineData("status=failed&status=queued", "status is given more than once")]
    public async Task ABadFilterIs400InvalidFilter(string query, string error)
    {
        var problem = await Problem(await _root.Client.GetAsync($"/admin/api/requests?{query}"), HttpStatusCode.BadRequest, "invalid_filter");

        Assert.Contains(problem["errors"]!.AsArray(), e => e!.GetValue<string>().StartsWith(error, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ADetailHasTheErrorAndTheLedgerOfTheRequest()
    {
        var id = await Failed();

        var detail = (await _root.Client.GetFromJsonAsync<JsonObject>($"/admin/api/requests/{id}"))!;

        Assert.Equal("failed", detail["status"]!.GetValue<string>());
        Assert.Equal("alice", detail["user"]!.GetValue<string>());
        Assert.Equal("echo_failed", detail["error"]!["code"]!.GetValue<string>());
        Assert.Equal("x", detail["inputs"]!["thing"]!.GetValue<string>());
        var ledger = detail["ledger"]!.AsArray();
        Assert.Equal(["charge", "refund"], ledger.Select(e => e!["kind"]!.GetValue<string>()));
        Assert.Equal([-4L, 4L], ledger.Select(e => e!["amount"]!.GetValue<long>()));
    }

    [Fact]
    public async Task UnknownIdsAndStepsAre404RequestNotFound()
    {
        const string unknown = "0123456789abcdef0123456789abcdef";
        await Problem(await _root.Client.GetAsync($"/admin/api/requests/{unknown}"), HttpStatusCode.NotFound, "request_not_found");
        await Problem(await _root.Client.GetAsync("/admin/api/requests/not-an-id"), HttpStatusCode.NotFound, "request_not_found");
        await Problem(await Retry(unknown), HttpStatusCode.NotFound, "request_not_found");
        await Problem(await Cancel(unknown), HttpStatusCode.NotFound, "request_not_found");

        var deal = await Submit("/svc/deal/doomed/", new { inputs = new { topic = "owls" } }, "failed");
        var step = App.Store.Query(c => c.Scalar<string>("SELECT id FROM requests WHERE parent = @d AND step = 0", ("@d", deal)))!;
        await Problem(await _root.Client.GetAsync($"/admin/api/requests/{step}"), HttpStatusCode.NotFound, "request_not_found");
        await Problem(await Retry(step), HttpStatusCode.NotFound, "request_not_found");
        await Problem(await Cancel(step), HttpStatusCode.NotFound, "request_not_found");
    }

    [Fact]
    public async Task ARetryIsANewRunChargedExactlyOnceMore()
    {
        var id = await Failed();
        Assert.Equal(100, Balance);

        var response = await Retry(id);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var retried = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(2, retried["run"]!.GetValue<int>());
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id);
        Assert.Equal("failed", done["status"]!.GetValue<string>()); // Still told to fail by the catalog.
        Assert.Equal(2, done["run"]!.GetValue<int>());
        Assert.Equal(2, Charges(id));
        Assert.Equal(2, Ledger.Count(App.Store, "refund", id));
        Assert.Equal(100, Balance);
        var ledger = (await _root.Client.GetFromJsonAsync<JsonObject>($"/admin/api/requests/{id}"))!["ledger"]!.AsArray();
        Assert.Equal([(1, "charge"), (1, "refund"), (2, "charge"), (2, "refund")],
            ledger.Select(e => (e!["run"]!.GetValue<int>(), e["kind"]!.GetValue<string>())));
        await AuditPasses();
    }

    [Fact]
    public async Task ARetryUsesTheCurrentOfferAndCanSucceed()
    {
        var id = await Failed("owls");
        await App.ApplyCatalogAsync("""
            offers:
              - {service: text, action: broken, handler: echo.render, price: 9, prompt_template: "Now {thing}"}
            """);
        App.Refresh();

        Assert.Equal(HttpStatusCode.Accepted, (await Retry(id)).StatusCode);

        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id);
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal(["Now owls #1"], done["results"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal(9, done["price"]!.GetValue<long>());
        Assert.Equal(91, Balance);
        await AuditPasses();
    }

    [Fact]
    public async Task TwoRetriesAtOnceMakeOneRunAndOneCharge()
    {
        // It fails only after a second: the new run cannot have failed again before the second retry is written.
        var id = await Submit("/svc/text/late/", new { thing = "x" }, "failed");

        var responses = await Task.WhenAll(Retry(id), Retry(id));

        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.Conflict], responses.Select(r => r.StatusCode).Order());
        await Problem(responses.Single(r => r.StatusCode == HttpStatusCode.Conflict), HttpStatusCode.Conflict, "request_not_failed");
        await SwitchboardFactory.WaitForEnd(_alice.Client, id);
        Assert.Equal(2, Charges(id));
        Assert.Equal(2, App.Store.Query(c => c.Scalar<long>("SELECT run FROM requests WHERE id = @id", ("@id", id))));
        await AuditPasses();
    }

    [Fact]
    public async Task OnlyAFailedRequestIsRetried()
    {
        var ok = await Submit("/svc/text/shout/", new { word = "hi" }, "succeeded");

        await Problem(await Retry(ok), HttpStatusCode.Conflict, "request_not_failed");

        Assert.Equal(1, Charges(ok));
    }

    [Fact]
    public async Task ARetryOfAnOfferNoLongerLiveIs409AndChangesNothing()
    {
        var id = await Failed();
        await App.ApplyCatalogAsync("""
            offers:
              - {service: text, action: broken, handler: echo.render, price: 4, prompt_template: "Never {thing}", enabled: false}
            """);
        App.Refresh();

        await Problem(await Retry(id), HttpStatusCode.Conflict, "offer_not_live");

        Assert.Equal(1, Charges(id));
        Assert.Equal("failed", (await _root.Client.GetFromJsonAsync<JsonObject>($"/admin/api/requests/{id}"))!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task ARetryWhoseInputsNoLongerFitIs409InputsChanged()
    {
        var id = await Failed();
        await App.ApplyCatalogAsync("""
            offers:
              - {service: text, action: broken, handler: echo.render, price: 4, prompt_template: "Never {thing} or {other}"}
            """);
        App.Refresh();

        await Problem(await Retry(id), HttpStatusCode.Conflict, "inputs_changed");

        Assert.Equal(1, Charges(id));
    }

    [Fact]
    public async Task ARetryWithoutEnoughCreditsIs402AndChangesNothing()
    {
        var id = await Failed();
        await App.CliJsonAsync("credits", "adjust", "alice", "-97", "--note", "spent elsewhere");

        var problem = await Problem(await Retry(id), HttpStatusCode.PaymentRequired, "insufficient_credits");

        Assert.Equal(3, problem["balance"]!.GetValue<long>());
        Assert.Equal(4, problem["price"]!.GetValue<long>());
        Assert.Equal(3, Balance);
        Assert.Equal(1, Charges(id));
        Assert.Equal(1, (await _root.Client.GetFromJsonAsync<JsonObject>($"/admin/api/requests/{id}"))!["run"]!.GetValue<int>());
        await AuditPasses();
    }

    [Fact]
    public async Task AFailedDealIsRetriedWithItsStepsAfresh()
    {
        var id = await Submit("/svc/deal/doomed/", new { inputs = new { topic = "owls" } }, "failed");

        Assert.Equal(HttpStatusCode.Accepted, (await Retry(id)).StatusCode);

        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id);
        Assert.Equal(2, done["run"]!.GetValue<int>());
        Assert.Equal(2, done["steps"]!.AsArray().Count);
        Assert.Equal(2, Charges(id));
        var detail = (await _root.Client.GetFromJsonAsync<JsonObject>($"/admin/api/requests/{id}"))!;
        Assert.Equal(2, detail["steps"]!.AsArray().Count);
        await AuditPasses();
    }

    [Fact]
    public async Task ARetryOfADealNoLongerLiveIs409AndChangesNothing()
    {
        var id = await Submit("/svc/deal/doomed/", new { inputs = new { topic = "owls" } }, "failed");
        await App.ApplyCatalogAsync("""
            deals:
              - {name: doomed, offers: [{offer: t/a}, {offer: t/fail, pipeline: overwrite}], price: 12, enabled: false}
            """);
        App.Refresh();

        await Problem(await Retry(id), HttpStatusCode.Conflict, "deal_not_live");

        Assert.Equal(1, Charges(id));
    }

    [Fact]
    public async Task ARetryWhoseHandlerIsNotInstalledIs503AndChangesNothing()
    {
        var id = await Failed();
        var file = Path.Combine(App.Store.Path, "services.yaml");
        await File.WriteAllTextAsync(file, "installed: [openai]\n");
        var (exit, _, error) = await App.CliAsync("config", "push", file, "--id", "service_map");
        Assert.True(exit == 0, error);
        App.Refresh();

        await Problem(await Retry(id), HttpStatusCode.ServiceUnavailable, "handler_not_installed");

        Assert.Equal(1, Charges(id));
    }

    [Fact]
    public async Task ARetryOnAResourceThatRejectsNewWorkIs429AndChangesNothing()
    {
        var id = await Failed();
        // The handler now draws on a budget of 0 credits that rejects new work when spent.
        await App.ApplyCatalogAsync("handlers:\n  - {id: echo.render, credits: 1, resource: scarce}\n");
        var file = Path.Combine(App.Store.Path, "resources.yaml");
        await File.WriteAllTextAsync(file, "resource_map:\n  scarce: {credits: 0, period: 1h, on_exhausted: reject}\n");
        var (exit, _, error) = await App.CliAsync("config", "push", file, "--id", "resource_map");
        Assert.True(exit == 0, error);
        App.Refresh();

        var response = await Retry(id);
        var problem = await Problem(response, HttpStatusCode.TooManyRequests, "resource_exhausted");
        Assert.Equal("scarce", problem["resource"]!.GetValue<string>());
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);

        Assert.Equal(1, Charges(id));
        Assert.Equal("failed", (await _root.Client.GetFromJsonAsync<JsonObject>($"/admin/api/requests/{id}"))!["status"]!.GetValue<string>());
        await AuditPasses();
    }

    [Fact]
    public async Task ACancelRefundsOnceAndAFinishedRequestIs409()
    {
        var id = await Submit("/svc/text/slow/", new { thing = "a" }, "running");
        Assert.Equal(93, Balance);

        var response = await Cancel(id);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cancelled = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("cancelled", cancelled["status"]!.GetValue<string>());
        // The client sees who cancelled it.
        Assert.Equal("cancelled by the admin root", cancelled["error"]!["message"]!.GetValue<string>());
        Assert.Equal(100, Balance);
        Assert.Equal(1, Ledger.Count(App.Store, "refund", id));
        await Problem(await Cancel(id), HttpStatusCode.Conflict, "request_finished");
        Assert.Equal(1, Ledger.Count(App.Store, "refund", id));
        await AuditPasses();
    }
}

public sealed class RequestAdminEndpointsOnSqlite() : RequestAdminEndpointTests(StoreKind.Sqlite);

public sealed class RequestAdminEndpointsOnPostgres() : RequestAdminEndpointTests(StoreKind.Postgres);
