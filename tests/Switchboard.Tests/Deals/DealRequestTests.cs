namespace Switchboard.Tests.Deals;

/// <summary>Deal requests end to end through the HTTP API and a real store: pipelines, charges, refunds, cancel, bad input.</summary>
public abstract class DealRequestTests(StoreKind kind) : AppTests
{
    // echo.render returns "<prompt> #<n>" per result, so every result below is known exactly.
    public static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: t, action: a, handler: echo.render, price: 10, prompt_template: "A({topic})"}
          - {service: t, action: b, handler: echo.render, price: 20, prompt_template: "B[{input}]"}
          - {service: t, action: c, handler: echo.render, price: 30, prompt_template: "C[{input}|{tone}]"}
          - {service: t, action: d, handler: echo.render, price: 40, prompt_template: "D({topic})", create_qty: 2}
          - {service: t, action: b-slow, handler: echo.render, price: 20, prompt_template: "B[{input}]", params: {delay_ms: 600}}
          - {service: t, action: fail, handler: echo.render, price: 6, prompt_template: "F[{input}]", params: {fail: "no luck"}}
          - {service: t, action: slow, handler: echo.render, price: 5, prompt_template: "S({topic})", params: {delay_ms: 30000}}
          - {service: t, action: brief, handler: echo.render, price: 1, prompt_template: "E({topic})", expiration: 1}
        deals:
          - name: modes
            offers:
              - {offer: t/a, pipeline: none}
              - {offer: t/b, pipeline: overwrite}
              - {offer: t/b, pipeline: extend}
              - {offer: t/c, pipeline: pass_through}
              - {offer: t/b, pipeline: overwrite}
          - name: mixed
            offers:
              - {offer: t/a, pipeline: none}
              - {offer: t/b-slow, pipeline: overwrite}
              - {offer: t/d, pipeline: none}
            price_modifier: 10
            addons:
              - {offer: t/c, pipeline: extend}
              - {offer: t/a}
            addons_modifier: 50
          - name: broken
            offers:
              - {offer: t/a, pipeline: none}
              - {offer: t/fail, pipeline: overwrite}
              - {offer: t/b, pipeline: extend}
              - {offer: t/d, pipeline: none}
            price: 50
            addons:
              - {offer: t/b, pipeline: pass_through}
          - name: stuck
            offers:
              - {offer: t/slow, pipeline: none}
              - {offer: t/b, pipeline: overwrite}
              - {offer: t/a, pipeline: none}
          - name: fleeting
            offers:
              - {offer: t/brief, pipeline: none}
              - {offer: t/b, pipeline: overwrite}
        """);

    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: Catalog);
        _alice = await app.AddUserAsync("alice", 1000);
        return app;
    }

    private Task<HttpResponseMessage> Buy(string deal, object inputs, string[]? addons = null, string? idempotencyKey = null) =>
        _alice.Client.PostJsonAsync($"/svc/deal/{deal}/", new { inputs, addons }, idempotencyKey);

    private async Task<JsonObject> BuyAndWait(string deal, object inputs, string[]? addons = null)
    {
        var response = await Buy(deal, inputs, addons);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await SwitchboardFactory.WaitForEnd(_alice.Client, await SwitchboardFactory.IdOf(response));
    }

    private static List<string> Results(JsonNode step) => [.. step["results"]!.AsArray().Select(r => r!.GetValue<string>())];

    private static List<string> Statuses(JsonObject deal) => [.. deal["steps"]!.AsArray().Select(s => s!["status"]!.GetValue<string>())];

    private long RefundOf(string id, int step) => Ledger.Query(App.Store, c => c.Scalar<long>(
        "SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE request_id = @id AND kind = 'refund' AND step = @step", ("@id", id), ("@step", step)));

    [Fact]
    public async Task EachPipelineModePassesOnWhatTheSpecSays()
    {
        var deal = await BuyAndWait("modes", new { topic = "owls", tone = "calm" });

        Assert.Equal("succeeded", deal["status"]!.GetValue<string>());
        Assert.Equal("deal", deal["kind"]!.GetValue<string>());
        var steps = deal["steps"]!.AsArray();
        Assert.Equal(["t/a", "t/b", "t/b", "t/c", "t/b"], steps.Select(s => s!["offer"]!.GetValue<string>()));
        Assert.Equal(["none", "overwrite", "extend", "pass_through", "overwrite"], steps.Select(s => s!["pipeline"]!.GetValue<string>()));
        const string a = "A(owls) #1";
        const string b1 = $"B[{a}] #1";                 // overwrite: gets a's results, passes on its own
        const string b2 = $"B[{b1}] #1";                // extend: gets b1, passes on [b1, b2]
        const string c = $"C[{b1}\n\n{b2}|calm] #1";    // pass_through: gets [b1, b2], passes them on unchanged
        const string b3 = $"B[{b1}\n\n{b2}] #1";        // overwrite after pass_through: gets [b1, b2]
        Assert.Equal([a], Results(steps[0]!));
        Assert.Equal([b1], Results(steps[1]!));
        Assert.Equal([b2], Results(steps[2]!));
        Assert.Equal([c], Results(steps[3]!));
        Assert.Equal([b3], Results(steps[4]!));
        Assert.All(steps, s => Assert.Equal("succeeded", s!["status"]!.GetValue<string>()));
        // Sum of list prices, modifier 0: charged once, the shares are the list prices.
        Assert.Equal(100, deal["price"]!.GetValue<long>());
        Assert.Equal([10, 20, 20, 30, 20], steps.Select(s => s!["price"]!.GetValue<long>()));
        Assert.Equal(900, _alice.Balance);
        Assert.Equal(1, Ledger.Count(App.Store, "charge", deal["id"]!.GetValue<string>()));
        Assert.Equal(0, Ledger.Count(App.Store, "refund", deal["id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task IndependentItemsRunInParallelWithAPipelineAndAddOnsRunAfterThePrimaryItems()
    {
        var deal = await BuyAndWait("mixed", new { topic = "tea", tone = "dry" }, ["t/c"]);

        Assert.Equal("succeeded", deal["status"]!.GetValue<string>());
        Assert.Equal(["t/c"], deal["addons"]!.AsArray().Select(a => a!.GetValue<string>()));
        var steps = deal["steps"]!.AsArray();
        Assert.Equal(["t/a", "t/b-slow", "t/d", "t/c"], steps.Select(s => s!["offer"]!.GetValue<string>()));
        Assert.Equal(["D(tea) #1", "D(tea) #2"], Results(steps[2]!));
        // The add-on extends what the item before it (t/d, pipeline none) passed on: its own results.
        Assert.Equal(["C[D(tea) #1\n\nD(tea) #2|dry] #1"], Results(steps[3]!));
        Assert.Equal(["B[A(tea) #1] #1"], Results(steps[1]!));
        // t/d did not wait for the slow pipeline item before it.
        var slowEnd = DateTimeOffset.Parse(steps[1]!["finished_at"]!.GetValue<string>());
        var independentEnd = DateTimeOffset.Parse(steps[2]!["finished_at"]!.GetValue<string>());
        Assert.True(independentEnd < slowEnd, $"t/d ended at {independentEnd:O}, after the slow item ({slowEnd:O})");
        // (10 + 20 + 40) x 90% = 63; the add-on 30 x 50% = 15.
        Assert.Equal(78, deal["price"]!.GetValue<long>());
        Assert.Equal(1000 - 78, _alice.Balance);
    }

    [Fact]
    public async Task AFailedStepCancelsWhatDependsOnItRefundsThoseSharesAndTheRestGoesOn()
    {
        var deal = await BuyAndWait("broken", new { topic = "rain" }, ["t/b"]);
        var id = deal["id"]!.GetValue<string>();

        Assert.Equal("failed", deal["status"]!.GetValue<string>());
        Assert.Equal("step_failed", deal["error"]!["code"]!.GetValue<string>());
        Assert.Contains("step 1 (t/fail)", deal["error"]!["message"]!.GetValue<string>());
        Assert.Equal(["succeeded", "failed", "cancelled", "succeeded", "succeeded"], Statuses(deal));
        var steps = deal["steps"]!.AsArray();
        Assert.Equal("echo_failed", steps[1]!["error"]!["code"]!.GetValue<string>());
        Assert.Equal("dependency_failed", steps[2]!["error"]!["code"]!.GetValue<string>());
        // The pass-through add-on depends on t/d, which succeeded: it passes nothing on but ran.
        Assert.Equal(["B[D(rain) #1\n\nD(rain) #2] #1"], Results(steps[4]!));
        // Fixed price 50 over list prices 10, 6, 20, 40 (76): shares 7, 4, 13, 26 (largest remainder);
        // the add-on, no discount: 20. Refunded: the failed step's share and its dependent's.
        Assert.Equal(70, deal["price"]!.GetValue<long>());
        var shares = steps.Select(s => s!["price"]!.GetValue<long>()).ToList();
        Assert.Equal(50, shares.Take(4).Sum());
        Assert.Equal(shares[1], RefundOf(id, 1));
        Assert.Equal(shares[2], RefundOf(id, 2));
        Assert.Equal(2, Ledger.Count(App.Store, "refund", id));
        Assert.Equal(1000 - 70 + shares[1] + shares[2], _alice.Balance);
        Ledger.AssertAudited(App.Store);
        // The client's account counts the deal, net of its refunds; its steps are not requests of their own.
        var me = (await _alice.Client.GetFromJsonAsync<JsonObject>("/svc/me/"))!;
        var offers = me["offers"]!.AsArray();
        var line = Assert.Single(offers);
        Assert.Equal("deal/broken", line!["offer"]!.GetValue<string>());
        Assert.Equal(1, line["failed"]!.GetValue<long>());
        Assert.Equal(70 - shares[1] - shares[2], line["credits"]!.GetValue<long>());

        // Submitted again, a failed deal runs again under its id: a new run, charged again.
        var again = await Buy("broken", new { topic = "rain" }, ["t/b"]);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal(id, await SwitchboardFactory.IdOf(again));
        var rerun = await SwitchboardFactory.WaitForEnd(_alice.Client, id);
        Assert.Equal(2, rerun["run"]!.GetValue<int>());
        Assert.Equal(["succeeded", "failed", "cancelled", "succeeded", "succeeded"], Statuses(rerun));
        Assert.Equal(2, Ledger.Count(App.Store, "charge", id));
        Assert.Equal(1000 - 140 + (2 * (shares[1] + shares[2])), _alice.Balance);
    }

    [Fact]
    public async Task TheAuditChecksEveryStepsRefund()
    {
        var deal = await BuyAndWait("broken", new { topic = "audit" });
        var id = deal["id"]!.GetValue<string>();
        Ledger.AssertAudited(App.Store);
        List<(string Kind, string? Request)> Problems() => [.. App.Store.Audit().Problems.Select(p => (p.Kind, p.RequestId))];

        // The failed step's refund gone (its credits with it, so only the refund is wrong).
        var share = RefundOf(id, 1);
        App.Store.Query(c => c.Execute("DELETE FROM ledger WHERE request_id = @id AND step = 1", ("@id", id))
            + c.Execute("UPDATE users SET credits = credits - @s WHERE id = @u", ("@s", share), ("@u", _alice.Id)));
        Assert.Equal([("missing_refund", id)], Problems());

        // Back, but one credit too many; and a refund of a step that succeeded.
        App.Store.Query(c => c.Execute(
            "INSERT INTO ledger (user_id, kind, amount, request_id, request_seq, run, step, created_at) SELECT user_id, 'refund', @a, id, seq, run, 1, 1 FROM requests WHERE id = @id",
            ("@a", share + 1), ("@id", id)) + c.Execute(
            "INSERT INTO ledger (user_id, kind, amount, request_id, request_seq, run, step, created_at) SELECT user_id, 'refund', 1, id, seq, run, 0, 1 FROM requests WHERE id = @id",
            ("@id", id)) + c.Execute("UPDATE users SET credits = credits + @s WHERE id = @u", ("@s", share + 2), ("@u", _alice.Id)));
        Assert.Equal([("refund_mismatch", id), ("unexpected_refund", id)], Problems().Order().ToList());

        App.Store.Query(c => c.Execute("DELETE FROM ledger WHERE request_id = @id AND step = 0", ("@id", id))
            + c.Execute("UPDATE ledger SET amount = amount - 1 WHERE request_id = @id AND step = 1", ("@id", id))
            + c.Execute("UPDATE users SET credits = credits - 2 WHERE id = @u", ("@u", _alice.Id)));
        Ledger.AssertAudited(App.Store);
    }

    [Fact]
    public async Task TheSameDealTwiceIsOneRequestChargedOnceAndAddOnsArePartOfTheId()
    {
        var first = await Buy("mixed", new { topic = "tea", tone = "dry" }, ["t/c", "t/a"]);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var id = await SwitchboardFactory.IdOf(first);
        await SwitchboardFactory.WaitForEnd(_alice.Client, id);

        // The same add-ons in another order: the same request, not charged again.
        var second = await Buy("mixed", new { tone = "dry", topic = "tea" }, ["t/a", "t/c"]);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var existing = (await second.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(id, existing["id"]!.GetValue<string>());
        Assert.Equal(5, existing["steps"]!.AsArray().Count);
        Assert.Equal(1, Ledger.Count(App.Store, "charge", id));

        // Other add-ons, or an Idempotency-Key: another request.
        var fewer = await Buy("mixed", new { topic = "tea", tone = "dry" }, ["t/c"]);
        Assert.Equal(HttpStatusCode.Accepted, fewer.StatusCode);
        Assert.NotEqual(id, await SwitchboardFactory.IdOf(fewer));
        var keyed = await Buy("mixed", new { topic = "tea", tone = "dry" }, ["t/c", "t/a"], idempotencyKey: "again");
        Assert.Equal(HttpStatusCode.Accepted, keyed.StatusCode);
        Assert.NotEqual(id, await SwitchboardFactory.IdOf(keyed));
    }

    [Fact]
    public async Task ConcurrentIdenticalDealsChargeOnce()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Buy("modes", new { topic = "race", tone = "x" })));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Accepted);
        var ids = (await Task.WhenAll(responses.Select(SwitchboardFactory.IdOf))).Distinct().ToList();
        Assert.Single(ids);
        await SwitchboardFactory.WaitForEnd(_alice.Client, ids[0]);
        Assert.Equal(1, Ledger.Count(App.Store, "charge", ids[0]));
        Assert.Equal(900, _alice.Balance);
    }

    [Fact]
    public async Task CancellingADealStopsItsStepsAndRefundsWhatDidNotFinish()
    {
        var id = await SwitchboardFactory.IdOf(await Buy("stuck", new { topic = "snow" }));
        // t/a (no delay) finishes; t/slow runs; t/b waits for it.
        var running = await _alice.Client.WaitForRequest(id, d => Statuses(d) is ["running", "waiting", "succeeded"]);
        Assert.Equal("running", running["status"]!.GetValue<string>());

        var cancel = await _alice.Client.DeleteAsync($"/svc/request/{id}/");

        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var deal = (await cancel.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("cancelled", deal["status"]!.GetValue<string>());
        Assert.Equal(["cancelled", "cancelled", "succeeded"], Statuses(deal));
        // Shares of 35 over 5, 20, 10: the two unfinished steps' come back, the finished one's does not.
        Assert.Equal(35, deal["price"]!.GetValue<long>());
        Assert.Equal(5 + 20, RefundOf(id, 0) + RefundOf(id, 1));
        Assert.Equal(0, RefundOf(id, 2));
        Assert.Equal(1000 - 10, _alice.Balance);
        Assert.Equal(HttpStatusCode.Conflict, (await _alice.Client.DeleteAsync($"/svc/request/{id}/")).StatusCode);
        Ledger.AssertAudited(App.Store);
    }

    [Fact]
    public async Task StepsAreShownInTheirDealOnly()
    {
        var id = await SwitchboardFactory.IdOf(await Buy("stuck", new { topic = "fog" }));
        var stepId = Ledger.Query(App.Store, c => c.Scalar<string>("SELECT id FROM requests WHERE parent = @id AND step = 0", ("@id", id)))!;

        Assert.Equal(HttpStatusCode.NotFound, (await _alice.Client.GetAsync($"/svc/request/{stepId}/")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _alice.Client.DeleteAsync($"/svc/request/{stepId}/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _alice.Client.DeleteAsync($"/svc/request/{id}/")).StatusCode);
    }

    [Fact]
    public async Task ADealsResultsExpireWithItsEarliestOffer()
    {
        var deal = await BuyAndWait("fleeting", new { topic = "mist" });
        Assert.Equal("succeeded", deal["status"]!.GetValue<string>());
        Assert.NotNull(deal["expires_at"]);

        var expired = await SwitchboardFactory.WaitFor(_alice.Client, deal["id"]!.GetValue<string>(), TimeSpan.FromSeconds(10), "expired");

        Assert.All(expired["steps"]!.AsArray(), s => Assert.Empty(s!["results"]!.AsArray()));
    }

    [Fact]
    public async Task BadDealRequestsGetProblemsAndChargeNothing()
    {
        await Problem(await Buy("nope", new { topic = "x" }), HttpStatusCode.NotFound, "unknown_deal");
        var unknownAddon = await Problem(await Buy("mixed", new { topic = "x", tone = "y" }, ["t/zzz"]), HttpStatusCode.BadRequest, "invalid_addons");
        Assert.Contains("not an add-on", unknownAddon["errors"]!["t/zzz"]!.GetValue<string>());
        var twice = await Problem(await Buy("mixed", new { topic = "x", tone = "y" }, ["t/c", "t/c"]), HttpStatusCode.BadRequest, "invalid_addons");
        Assert.Contains("more than once", twice["errors"]!["t/c"]!.GetValue<string>());
        var missing = await Problem(await Buy("modes", new { topic = "x" }), HttpStatusCode.BadRequest, "invalid_inputs");
        Assert.Equal("is required", missing["errors"]!["tone"]!.GetValue<string>());
        // `input` is what a pipeline item receives, not something a client sends; an add-on's
        // input is not an input when the add-on is not chosen.
        var unknown = await Problem(await Buy("mixed", new { topic = "x", tone = "y", input = "z" }), HttpStatusCode.BadRequest, "invalid_inputs");
        Assert.NotNull(unknown["errors"]!["input"]);
        Assert.NotNull(unknown["errors"]!["tone"]);
        await Problem(await Buy("modes", "not an object"), HttpStatusCode.BadRequest, "invalid_inputs");

        async Task<HttpResponseMessage> Raw(string body, string type = "application/json") =>
            await _alice.Client.PostAsync("/svc/deal/modes/", new StringContent(body, System.Text.Encoding.UTF8, type));
        await Problem(await Raw("""{"inputs": {"topic": "x", "tone": "y"}, "extra": 1}"""), HttpStatusCode.BadRequest, "invalid_body");
        await Problem(await Raw("""{"inputs": {"topic": "x", "tone": "y"}, "addons": "t/c"}"""), HttpStatusCode.BadRequest, "invalid_addons");
        await Problem(await Raw("""[1, 2]"""), HttpStatusCode.BadRequest, "body_not_object");
        await Problem(await Raw("""{"inputs": """), HttpStatusCode.BadRequest, "invalid_json");
        await Problem(await Raw("""{"inputs": {"topic": "\ud800", "tone": "y"}}"""), HttpStatusCode.BadRequest, "invalid_json");
        await Problem(await Raw("""{"inputs": {"topic": "x", "tone": "y"}}""", "text/plain"), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");

        Assert.Equal(0, Ledger.RequestCount(App.Store));
        Assert.Equal(1000, _alice.Balance);
    }

    [Fact]
    public async Task ADealTheBalanceCannotPayIsRefusedWhole()
    {
        var (_, poorKey) = await Infrastructure.Cli.CreateUser(App.Store, "bob", 99);
        using var poor = App.ClientFor(poorKey);

        var response = await poor.PostAsJsonAsync("/svc/deal/modes/", new { inputs = new { topic = "x", tone = "y" } });

        Assert.Equal(HttpStatusCode.PaymentRequired, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("insufficient_credits", problem["code"]!.GetValue<string>());
        Assert.Equal(100, problem["price"]!.GetValue<long>());
        Assert.Equal(0, Ledger.RequestCount(App.Store));
    }
}

public sealed class DealRequestsOnSqlite() : DealRequestTests(StoreKind.Sqlite);

public sealed class DealRequestsOnPostgres() : DealRequestTests(StoreKind.Postgres);
