namespace Switchboard.Tests.Keys;

/// <summary>
/// A key's limits through the client API, each on both stores: scopes over offers and deals
/// (403), expiry (401), rpm (429 + Retry-After), concurrency and budget (429 / 402, checked in the
/// charge's unit), a refund giving its window's spend back; and every refusal charges nothing.
/// </summary>
public abstract class KeyLimitTests(StoreKind kind) : AppTests
{
    public static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: text, action: shout, handler: echo.render, price: 5, prompt_template: "Say {word}", create_qty: 1}
          - {service: text, action: brief, handler: echo.render, price: 1, prompt_template: "Briefly {word}", create_qty: 1}
          - {service: text, action: broken, handler: echo.render, price: 4, prompt_template: "Never {word}", params: {fail: "on strike"}}
          - {service: text, action: slow, handler: echo.render, price: 7, prompt_template: "Slowly {word}", params: {delay_ms: 30000}}
          - {service: p, action: first, handler: echo.render, price: 3, prompt_template: "First({word})"}
          - {service: p, action: last, handler: echo.render, price: 2, prompt_template: "Last[{input}]"}
        deals:
          - name: pair
            offers:
              - {offer: p/first, pipeline: none}
              - {offer: p/last, pipeline: overwrite}
        """);

    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: Catalog);
        _alice = await app.AddUserAsync("alice", 1000);
        return app;
    }

    /// <summary>A new key of alice's made with <c>keys create</c> and these options; its client.</summary>
    private async Task<(HttpClient Client, string Prefix)> Key(params string[] options)
    {
        var created = await App.CliJsonAsync(["keys", "create", "alice", .. options]);
        App.Refresh();
        return (App.ClientFor(created["api_key"]!.GetValue<string>()), created["prefix"]!.GetValue<string>());
    }

    private static Task<HttpResponseMessage> Buy(HttpClient client, string offer, string word = "hi") =>
        client.PostJsonAsync($"/svc/{offer}/", new { word });

    private static Task<HttpResponseMessage> BuyDeal(HttpClient client, string word = "hi") =>
        client.PostJsonAsync("/svc/deal/pair/", new { inputs = new { word } });

    private long Requests => App.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE kind <> 'step'"));

    private long Spent(string prefix) => App.Query(c => c.Scalar<long?>("SELECT SUM(spent) FROM api_key_spend WHERE prefix = @k", ("@k", prefix)) ?? 0);

    [Fact]
    public async Task AScopedKeyBuysOnlyWhatItsGlobsMatchAndARefusalChargesNothing()
    {
        var (client, _) = await Key("--scope", "text/sh*", "--scope", "deal:pair");

        Assert.Equal(HttpStatusCode.Accepted, (await Buy(client, "text/shout")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await BuyDeal(client)).StatusCode);
        var before = _alice.Balance;
        var requests = Requests;
        var problem = await ProblemAssert.Problem(await Buy(client, "text/brief"), HttpStatusCode.Forbidden, "key_scope");
        await ProblemAssert.Problem(await Buy(client, "p/first"), HttpStatusCode.Forbidden, "key_scope");

        Assert.Equal(["text/sh*", "deal:pair"], problem["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.Equal(before, _alice.Balance);
        Assert.Equal(requests, Requests);
        // The user's unscoped key still buys it.
        Assert.Equal(HttpStatusCode.Accepted, (await Buy(_alice.Client, "text/brief")).StatusCode);
    }

    [Fact]
    public async Task ADealOutsideTheScopesIsRefusedBeforeAnyCharge()
    {
        var (client, _) = await Key("--scope", "text/*");
        var before = _alice.Balance;

        await ProblemAssert.Problem(await BuyDeal(client), HttpStatusCode.Forbidden, "key_scope");

        Assert.Equal(before, _alice.Balance);
        Assert.Equal(0, Requests);
    }

    [Fact]
    public async Task AnExpiredKeyDoesNotAuthenticate()
    {
        var (client, prefix) = await Key("--expires", "1h");
        App.Query(c => c.Execute("UPDATE api_keys SET expires_at = @t WHERE prefix = @k", ("@t", Clock.NowMs() - 1), ("@k", prefix)));
        App.Refresh();

        await ProblemAssert.Problem(await Buy(client, "text/shout"), HttpStatusCode.Unauthorized, "invalid_api_key");
        Assert.Equal(1000, _alice.Balance);
    }

    [Fact]
    public async Task OverItsRpmAKeyGets429WithRetryAfterAndNothingCharged()
    {
        var (client, _) = await Key("--rpm", "3");

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await Buy(client, "text/brief", $"w{i}")).StatusCode);
        }
        var before = _alice.Balance;
        var response = await Buy(client, "text/brief", "one more");
        var problem = await ProblemAssert.Problem(response, HttpStatusCode.TooManyRequests, "key_rate_limited");

        var retryAfter = long.Parse(response.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 20);
        Assert.Equal(3, problem["rpm"]!.GetValue<int>());
        Assert.Equal(before, _alice.Balance);
        Assert.Equal(3, Requests);
    }

    [Fact]
    public async Task AtMaxConcurrentAKeyGets429UntilOneEnds()
    {
        var (client, _) = await Key("--max-concurrent", "2");
        var first = await client.SubmitAsync("/svc/text/slow/", new { word = "a" });
        await client.SubmitAsync("/svc/text/slow/", new { word = "b" });
        var before = _alice.Balance;

        var response = await Buy(client, "text/slow", "c");
        await ProblemAssert.Problem(response, HttpStatusCode.TooManyRequests, "key_concurrency");
        Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
        await ProblemAssert.Problem(await BuyDeal(client), HttpStatusCode.TooManyRequests, "key_concurrency");
        Assert.Equal(before, _alice.Balance);
        Assert.Equal(2, Requests);
        // The same purchase again is the live request, not a refusal.
        Assert.Equal(HttpStatusCode.OK, (await Buy(client, "text/slow", "a")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/svc/request/{first}/")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await Buy(client, "text/slow", "c")).StatusCode);
        // The cancel's refund paid for the new one.
        Assert.Equal(before, _alice.Balance);
    }

    [Fact]
    public async Task ABudgetRefusesWith402AndARefundGivesItsSpendBack()
    {
        var (client, prefix) = await Key("--budget", "10", "--budget-period", "day");

        // A failed request is refunded, and so is its spend.
        var failed = await client.SubmitAsync("/svc/text/broken/", new { word = "x" });
        await SwitchboardFactory.WaitFor(client, failed, TimeSpan.FromSeconds(20), "failed");
        Assert.Equal(0, Spent(prefix));
        await client.SubmitAsync("/svc/text/shout/", new { word = "a" });
        await client.SubmitAsync("/svc/text/shout/", new { word = "b" });
        Assert.Equal(10, Spent(prefix));
        var before = _alice.Balance;

        var response = await Buy(client, "text/brief", "c");
        var problem = await ProblemAssert.Problem(response, HttpStatusCode.PaymentRequired, "key_budget_exhausted");

        Assert.Equal(10, problem["budget"]!.GetValue<long>());
        Assert.Equal(10, problem["spent"]!.GetValue<long>());
        Assert.Equal("day", problem["budget_period"]!.GetValue<string>());
        var tomorrow = DateTimeOffset.UtcNow.UtcDateTime.Date.AddDays(1);
        Assert.Equal(tomorrow, DateTimeOffset.Parse(problem["resets_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture).UtcDateTime);
        Assert.True(response.Headers.Contains("Retry-After"));
        Assert.Equal(before, _alice.Balance);
        Assert.Equal(10, Spent(prefix));
        // The user's other key is not bound by this one's budget.
        Assert.Equal(HttpStatusCode.Accepted, (await Buy(_alice.Client, "text/brief", "c")).StatusCode);
    }

    [Fact]
    public async Task ACancelledRequestGivesItsSpendBack()
    {
        var (client, prefix) = await Key("--budget", "7");
        var id = await client.SubmitAsync("/svc/text/slow/", new { word = "a" });
        await ProblemAssert.Problem(await Buy(client, "text/brief"), HttpStatusCode.PaymentRequired, "key_budget_exhausted");

        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/svc/request/{id}/")).StatusCode);

        Assert.Equal(0, Spent(prefix));
        Assert.Equal(HttpStatusCode.Accepted, (await Buy(client, "text/brief")).StatusCode);
        Assert.Equal(1, Spent(prefix));
    }

    [Fact]
    public async Task APlansKeyDefaultsApplyToKeysWithoutTheirOwn()
    {
        await App.CliJsonAsync("plans", "add", "team", "--weight", "3", "--key-budget", "5", "--key-budget-period", "month");
        await App.CliJsonAsync("users", "set", "alice", "--plan", "team");
        App.Refresh();

        Assert.Equal(HttpStatusCode.Accepted, (await Buy(_alice.Client, "text/shout")).StatusCode);
        await ProblemAssert.Problem(await Buy(_alice.Client, "text/brief"), HttpStatusCode.PaymentRequired, "key_budget_exhausted");

        // Off the plan, the key is unlimited again.
        await App.CliJsonAsync("users", "set", "alice", "--plan", "none");
        App.Refresh();
        Assert.Equal(HttpStatusCode.Accepted, (await Buy(_alice.Client, "text/brief")).StatusCode);
    }

    [Fact]
    public async Task AKeysLimitsAreListedButNeverTheKey()
    {
        var created = await App.CliJsonAsync("keys", "create", "alice", "--name", "ci", "--scope", "text/*", "--rpm", "60", "--budget", "100", "--expires", "2099-01-01");
        Assert.Equal("total", created["budget_period"]!.GetValue<string>());

        var (exit, output, _) = await App.CliAsync("keys", "list", "alice");

        Assert.Equal(0, exit);
        var listed = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject())
            .Single(k => k["prefix"]!.GetValue<string>() == created["prefix"]!.GetValue<string>());
        Assert.Equal("ci", listed["name"]!.GetValue<string>());
        Assert.Equal(60, listed["rpm"]!.GetValue<int>());
        Assert.Equal(100, listed["budget"]!.GetValue<long>());
        Assert.Equal("2099-01-01T00:00:00.000Z", listed["expires_at"]!.GetValue<string>());
        Assert.DoesNotContain(created["api_key"]!.GetValue<string>(), output);
    }

    [Theory]
    [InlineData("--rpm", "0", "rpm is 1 to 1000000")]
    [InlineData("--budget-period", "week", "budget_period is day, month or total")]
    [InlineData("--scope", "text/<b>", "may hold only")]
    [InlineData("--expires", "yesterday-ish", "--expires is a duration")]
    [InlineData("--expires", "2001-01-01", "expires must be in the future")]
    public async Task KeysCreateRefusesBadLimitsAndMakesNoKey(string option, string value, string message)
    {
        var (exit, _, error) = await App.CliAsync("keys", "create", "alice", option, value);

        Assert.NotEqual(0, exit);
        Assert.Contains(message, error);
        Assert.Equal(1, App.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM api_keys")));
    }
}

public sealed class KeyLimitsOnSqlite() : KeyLimitTests(StoreKind.Sqlite);

public sealed class KeyLimitsOnPostgres() : KeyLimitTests(StoreKind.Postgres);
