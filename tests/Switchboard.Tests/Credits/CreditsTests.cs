using System.Text;

namespace Switchboard.Tests.Credits;

/// <summary>
/// User credits: adjustments and grants with their actor (CLI and admin API, one set of rules),
/// the audit that proves the ledger (and catches tampering), and what a user sees in /svc/me/.
/// </summary>
public abstract class CreditsTests(StoreKind kind) : AppTests
{
    private TestUser _alice = null!;
    private TestUser _root = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: Requests.RequestLifecycleTests.Catalog);
        _alice = await app.AddUserAsync("alice", 100);
        _root = await app.AddAdminAsync();
        return app;
    }

    private long Balance => _alice.Balance;

    private long LedgerRows => App.Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM ledger"));

    private Task<HttpResponseMessage> Submit(string path, object body) => _alice.Client.PostAsJsonAsync(path, body);

    private async Task<string> SubmitAndWait(string path, object body, params string[] statuses)
    {
        var response = await Submit(path, body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = await SwitchboardFactory.IdOf(response);
        await SwitchboardFactory.WaitFor(_alice.Client, id, TimeSpan.FromSeconds(20), statuses);
        return id;
    }

    private async Task<string> Cancelled()
    {
        var id = await SubmitAndWait("/svc/text/slow/", new { thing = Guid.NewGuid().ToString("N") }, "running");
        var response = await _alice.Client.DeleteAsync($"/svc/request/{id}/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("cancelled by the client", (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["message"]!.GetValue<string>());
        return id;
    }

    private async Task<(int Exit, JsonObject Report)> CliAudit()
    {
        var (exit, output, error) = await App.CliAsync("credits", "audit");
        Assert.True(exit is 0 or 1, $"credits audit exited {exit}: {error}");
        return (exit, (JsonObject)JsonNode.Parse(output)!);
    }

    private static List<(string Kind, string Where)> Problems(JsonObject report) =>
        [.. report["problems"]!.AsArray().Select(p => (p!["kind"]!.GetValue<string>(), (p["request_id"] ?? p["user"])!.GetValue<string>()))];

    // ---- CLI: adjust and grant ----

    [Fact]
    public async Task AdjustmentsUpAndDownMoveTheBalanceAndRecordTheirActor()
    {
        var up = await App.CliJsonAsync("credits", "adjust", "alice", "20", "--note", "goodwill", "--actor", "ops-jane");
        var down = await App.CliJsonAsync("credits", "adjust", "alice", "-5", "--note", "double grant");
        var grant = await App.CliJsonAsync("credits", "grant", "alice", "10");

        Assert.Equal(120, up["credits"]!.GetValue<long>());
        Assert.Equal("ops-jane", up["entry"]!["actor"]!.GetValue<string>());
        Assert.Equal(115, down["credits"]!.GetValue<long>());
        Assert.Equal(-5, down["entry"]!["amount"]!.GetValue<long>());
        Assert.Equal(Environment.UserName, down["entry"]!["actor"]!.GetValue<string>());
        Assert.Equal(125, grant["credits"]!.GetValue<long>());
        Assert.Equal(125, Balance);
        var shown = await App.CliJsonAsync("credits", "show", "alice");
        var ledger = shown["ledger"]!.AsArray().Select(e => e!.AsObject()).ToList();
        Assert.Equal(["grant", "adjust", "adjust", "grant"], ledger.Select(e => e["kind"]!.GetValue<string>()));
        Assert.Equal([Environment.UserName, Environment.UserName, "ops-jane", Environment.UserName], ledger.Select(e => e["actor"]!.GetValue<string>()));
        Assert.Equal(["granted from the command line", "double grant", "goodwill", "initial credits"], ledger.Select(e => e["note"]!.GetValue<string>()));
        Ledger.AssertAudited(App.Store);
    }

    [Fact]
    public async Task AUsersInitialCreditsAreAGrantByItsActor()
    {
        await App.CliJsonAsync("users", "create", "carol", "--credits", "5", "--actor", "onboarding");

        var entry = (await App.CliJsonAsync("credits", "show", "carol"))["ledger"]![0]!;

        Assert.Equal("grant", entry["kind"]!.GetValue<string>());
        Assert.Equal("onboarding", entry["actor"]!.GetValue<string>());
        Assert.Equal("initial credits", entry["note"]!.GetValue<string>());
    }

    [Fact]
    public async Task ChargesAndRefundsHaveNoActor()
    {
        await SubmitAndWait("/svc/text/broken/", new { thing = "x" }, "failed");

        var ledger = (await App.CliJsonAsync("credits", "show", "alice"))["ledger"]!.AsArray();

        Assert.Equal(["refund", "charge", "grant"], ledger.Select(e => e!["kind"]!.GetValue<string>()));
        Assert.Null(ledger[0]!["actor"]);
        Assert.Null(ledger[1]!["actor"]);
    }

    [Fact]
    public async Task AnAdjustmentBelowZeroIsRefusedAndWritesNothing()
    {
        var rows = LedgerRows;

        var (exit, output, error) = await App.CliAsync("credits", "adjust", "alice", "-101", "--note", "too much");

        Assert.Equal(1, exit);
        Assert.Equal("", output);
        Assert.Contains("below zero", error);
        Assert.Contains("nothing changed", error);
        Assert.Equal(100, Balance);
        Assert.Equal(rows, LedgerRows);
        // Down to exactly zero is fine.
        Assert.Equal(0, (await App.CliJsonAsync("credits", "adjust", "alice", "-100", "--note", "closed"))["credits"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("credits", "adjust", "alice", "5")]
    [InlineData("credits", "adjust", "alice", "5", "--note", " ")]
    [InlineData("credits", "adjust", "alice", "0", "--note", "nothing")]
    [InlineData("credits", "adjust", "alice", "lots", "--note", "x")]
    [InlineData("credits", "adjust", "alice", "99999999999999", "--note", "x")]
    [InlineData("credits", "adjust", "alice")]
    [InlineData("credits", "grant", "alice", "5", "--actor=")]
    [InlineData("credits", "refund", "alice", "5")]
    public async Task BadAdjustmentsAreUsageErrorsAndWriteNothing(params string[] args)
    {
        var rows = LedgerRows;

        var (exit, _, error) = await App.CliAsync(args);

        Assert.Equal(2, exit);
        Assert.Contains("Usage:", error);
        Assert.Equal(rows, LedgerRows);
        Assert.Equal(100, Balance);
    }

    [Fact]
    public async Task AnAdjustmentOfAnUnknownUserIsAnError()
    {
        var (exit, _, error) = await App.CliAsync("credits", "adjust", "nobody", "5", "--note", "x");

        Assert.Equal(1, exit);
        Assert.Contains("no user named 'nobody'", error);
    }

    [Fact]
    public async Task ANegativeAmountIsAPositionalWordAlsoAfterADoubleDash()
    {
        var adjusted = await Infrastructure.Cli.RunArgs(["credits", "adjust", .. App.Store.ProcessArgs, "--note", "typo", "--", "alice", "-3"]);

        Assert.True(adjusted.Exit == 0, adjusted.Err);
        Assert.Equal(97, JsonNode.Parse(adjusted.Out)!["credits"]!.GetValue<long>());
    }

    // ---- the audit ----

    [Fact]
    public async Task TheAuditPassesOnABusyStore()
    {
        var shouts = Enumerable.Range(0, 6).Select(i => SubmitAndWait("/svc/text/shout/", new { word = $"w{i}", name = "n" }, "succeeded"));
        var failures = Enumerable.Range(0, 3).Select(i => SubmitAndWait("/svc/text/broken/", new { thing = $"t{i}" }, "failed"));
        var retried = SubmitAndWait("/svc/text/flaky/", new { thing = "eventually" }, "succeeded");
        await Task.WhenAll([.. shouts, .. failures, retried, Cancelled(), Cancelled()]);
        // A failed request bought again: a second run, charged and refunded again.
        await SubmitAndWait("/svc/text/broken/", new { thing = "t0" }, "failed");
        await App.CliJsonAsync("credits", "adjust", "alice", "-7", "--note", "manual correction");
        await App.CliJsonAsync("credits", "grant", "root", "3");

        var (exit, report) = await CliAudit();

        Assert.True(exit == 0, report.ToJsonString());
        Assert.Empty(report["problems"]!.AsArray());
        Assert.Equal(2, report["users"]!.GetValue<long>());
        Assert.Equal(12, report["requests"]!.GetValue<long>());
        // alice: 1 grant, 12 + 1 charges (the re-run), 3 + 2 + 1 refunds, 1 adjustment; root: 1 grant.
        Assert.Equal(1 + 13 + 6 + 1 + 1, report["ledger_rows"]!.GetValue<long>());
        Assert.Equal(100 - (6 * 5) - 3 - 7, Balance);
        var viaApi = await _root.Client.GetAsync("/admin/api/credits/audit");
        Assert.Equal(HttpStatusCode.OK, viaApi.StatusCode);
        Assert.Empty((await viaApi.Content.ReadFromJsonAsync<JsonObject>())!["problems"]!.AsArray());
    }

    [Fact]
    public async Task TheAuditFindsATamperedBalance()
    {
        await SubmitAndWait("/svc/text/shout/", new { word = "a", name = "b" }, "succeeded");
        App.Store.Query(c => c.Execute("UPDATE users SET credits = credits + 7 WHERE id = @u", ("@u", _alice.Id)));

        var (exit, report) = await CliAudit();

        Assert.Equal(1, exit);
        Assert.Equal([("balance_mismatch", "alice")], Problems(report));
        Assert.Contains("102", report["problems"]![0]!["detail"]!.GetValue<string>());
        Assert.Contains("95", report["problems"]![0]!["detail"]!.GetValue<string>());
        var viaApi = await _root.Client.GetAsync("/admin/api/credits/audit");
        Assert.Equal(HttpStatusCode.OK, viaApi.StatusCode);
        Assert.Equal([("balance_mismatch", "alice")], Problems((await viaApi.Content.ReadFromJsonAsync<JsonObject>())!));

        App.Store.Query(c => c.Execute("UPDATE users SET credits = credits - 7 WHERE id = @u", ("@u", _alice.Id)));
        Assert.Equal(0, (await CliAudit()).Exit);
    }

    [Fact]
    public async Task TheAuditFindsADeletedRefund()
    {
        var id = await SubmitAndWait("/svc/text/broken/", new { thing = "gone" }, "failed");
        var refund = App.Store.Query(c =>
        {
            using var command = c.Sql("SELECT user_id, amount, request_seq, run, note, created_at FROM ledger WHERE kind = 'refund' AND request_id = @r", ("@r", id));
            using var reader = command.ExecuteReader();
            Assert.True(reader.Read());
            return (User: reader.GetString(0), Amount: reader.GetInt64(1), Seq: reader.GetInt64(2), Run: reader.GetInt32(3), Note: reader.GetString(4), At: reader.GetInt64(5));
        });
        App.Store.Query(c => c.Execute("DELETE FROM ledger WHERE kind = 'refund' AND request_id = @r", ("@r", id)));

        var (exit, report) = await CliAudit();

        Assert.Equal(1, exit);
        Assert.Equal([("balance_mismatch", "alice"), ("missing_refund", id)], Problems(report));

        App.Store.Query(c => c.Execute(
            "INSERT INTO ledger (user_id, kind, amount, request_id, request_seq, run, note, created_at) VALUES (@u, 'refund', @a, @r, @s, @run, @n, @t)",
            ("@u", refund.User), ("@a", refund.Amount), ("@r", id), ("@s", refund.Seq), ("@run", refund.Run), ("@n", refund.Note), ("@t", refund.At)));
        Assert.Equal(0, (await CliAudit()).Exit);
    }

    [Fact]
    public async Task TheAuditFindsExtraAndWrongRefunds()
    {
        var succeeded = await SubmitAndWait("/svc/text/shout/", new { word = "keep", name = "it" }, "succeeded");
        var failed = await SubmitAndWait("/svc/text/broken/", new { thing = "wrong" }, "failed");
        // An extra refund of a run that succeeded, with its balance moved (so only the refund is wrong);
        // a refund of a run the request never had; a refund that gives back more than was charged.
        App.Store.Query(c =>
        {
            c.Execute(
                "INSERT INTO ledger (user_id, kind, amount, request_id, request_seq, run, created_at) SELECT user_id, 'refund', price, id, seq, run, 1 FROM requests WHERE id = @r",
                ("@r", succeeded));
            c.Execute(
                "INSERT INTO ledger (user_id, kind, amount, request_id, request_seq, run, created_at) SELECT user_id, 'refund', price, id, seq, run + 1, 1 FROM requests WHERE id = @r",
                ("@r", failed));
            c.Execute("UPDATE ledger SET amount = amount + 1 WHERE kind = 'refund' AND request_id = @r AND run = 1", ("@r", failed));
            return c.Execute("UPDATE users SET credits = credits + 5 + 4 + 1 WHERE id = @u", ("@u", _alice.Id));
        });

        var (exit, report) = await CliAudit();

        Assert.Equal(1, exit);
        var problems = Problems(report);
        Assert.Contains(("unexpected_refund", succeeded), problems);
        Assert.Contains(("invalid_entry", failed), problems);
        Assert.Contains(("refund_without_charge", failed), problems);
        Assert.Contains(("refund_mismatch", failed), problems);
        Assert.Equal(4, problems.Count);

        App.Store.Query(c =>
        {
            c.Execute("DELETE FROM ledger WHERE created_at = 1");
            c.Execute("UPDATE ledger SET amount = amount - 1 WHERE kind = 'refund' AND request_id = @r", ("@r", failed));
            return c.Execute("UPDATE users SET credits = credits - 10 WHERE id = @u", ("@u", _alice.Id));
        });
        Assert.Equal(0, (await CliAudit()).Exit);
    }

    [Fact]
    public async Task AStoreLeftInconsistentFailsTheTestWhenDisposed()
    {
        var store = TestStore.Create(kind);
        var (id, _) = await Infrastructure.Cli.CreateUser(store, "zed", 10);
        store.Query(c => c.Execute("UPDATE users SET credits = 11 WHERE id = @u", ("@u", id)));

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(async () => await store.DisposeAsync());

        Assert.Contains("balance_mismatch", failure.Message);
        Assert.False(Directory.Exists(store.Path));
    }

    // ---- /svc/me/ ----

    [Fact]
    public async Task MeCountsTheRequestsOfThePeriodPerOffer()
    {
        var old = await SubmitAndWait("/svc/text/shout/", new { word = "old", name = "n" }, "succeeded");
        await SubmitAndWait("/svc/text/shout/", new { word = "new", name = "n" }, "succeeded");
        await SubmitAndWait("/svc/text/broken/", new { thing = "x" }, "failed");
        await Cancelled();
        App.Store.Query(c => c.Execute("UPDATE requests SET created_at = created_at - 7200000 WHERE id = @r", ("@r", old)));

        var me = (await _alice.Client.GetFromJsonAsync<JsonObject>("/svc/me/"))!;
        var hour = (await _alice.Client.GetFromJsonAsync<JsonObject>("/svc/me/?since=1h"))!;
        var minutes = (await _alice.Client.GetFromJsonAsync<JsonObject>("/svc/me/?since=150m"))!;

        Assert.Equal(_alice.Id, me["id"]!.GetValue<string>());
        Assert.Equal("alice", me["name"]!.GetValue<string>());
        Assert.Equal(90, me["balance"]!.GetValue<long>());
        var since = DateTimeOffset.Parse(me["since"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(DateTimeOffset.UtcNow - since, TimeSpan.FromDays(30) - TimeSpan.FromMinutes(1), TimeSpan.FromDays(30) + TimeSpan.FromMinutes(1));
        string Offers(JsonObject answer) => string.Join(" ", answer["offers"]!.AsArray().Select(o =>
            $"{o!["offer"]}:{o["requests"]}/{o["succeeded"]}/{o["failed"]}/{o["cancelled"]}/{o["credits"]}"));
        Assert.Equal("text/broken:1/0/1/0/0 text/shout:2/2/0/0/10 text/slow:1/0/0/1/0", Offers(me));
        Assert.Equal("text/broken:1/0/1/0/0 text/shout:1/1/0/0/5 text/slow:1/0/0/1/0", Offers(hour));
        Assert.Equal(Offers(me), Offers(minutes));
    }

    [Fact]
    public async Task MeCountsTheCreditsOfEveryRunNetOfRefunds()
    {
        await SubmitAndWait("/svc/text/broken/", new { thing = "again" }, "failed");
        await SubmitAndWait("/svc/text/broken/", new { thing = "again" }, "failed");
        await SubmitAndWait("/svc/text/flaky/", new { thing = "x" }, "succeeded");

        var me = (await _alice.Client.GetFromJsonAsync<JsonObject>("/svc/me/?since=24h"))!;

        var offers = me["offers"]!.AsArray();
        Assert.Equal("text/broken", offers[0]!["offer"]!.GetValue<string>());
        Assert.Equal(1, offers[0]!["requests"]!.GetValue<long>());
        Assert.Equal(0, offers[0]!["credits"]!.GetValue<long>());
        Assert.Equal(3, offers[1]!["credits"]!.GetValue<long>());
        Assert.Equal(97, me["balance"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("")]
    [InlineData("0d")]
    [InlineData("7")]
    [InlineData("1w")]
    [InlineData("-1d")]
    [InlineData("1.5h")]
    [InlineData("+3h")]
    [InlineData("99999999999d")]
    [InlineData("3661d")]
    public async Task AMalformedPeriodIs400(string since)
    {
        var response = await _alice.Client.GetAsync("/svc/me/?since=" + Uri.EscapeDataString(since));

        await Problem(response, HttpStatusCode.BadRequest, "invalid_since");
    }

    [Fact]
    public async Task MeNeedsAKey()
    {
        await Problem(await App.CreateClient().GetAsync("/svc/me/"), HttpStatusCode.Unauthorized, "missing_api_key");
    }

    // ---- the admin API ----

    private Task<HttpResponseMessage> PostCredits(HttpClient client, string user, string body) =>
        client.PostAsync($"/admin/api/users/{user}/credits", new StringContent(body, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task AnAdminGrantsAndAdjustsAndReadsTheLedger()
    {
        var granted = await PostCredits(_root.Client, "alice", """{"kind": "grant", "amount": 50, "note": "promo"}""");
        var adjusted = await PostCredits(_root.Client, "alice", """{"kind": "adjust", "amount": -20, "note": "refund by hand"}""");

        Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
        var grant = (await granted.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("alice", grant["name"]!.GetValue<string>());
        Assert.Equal(150, grant["balance"]!.GetValue<long>());
        Assert.Equal("grant", grant["entry"]!["kind"]!.GetValue<string>());
        Assert.Equal(50, grant["entry"]!["amount"]!.GetValue<long>());
        Assert.Equal("root", grant["entry"]!["actor"]!.GetValue<string>());
        Assert.Equal("promo", grant["entry"]!["note"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, adjusted.StatusCode);
        Assert.Equal(130, (await adjusted.Content.ReadFromJsonAsync<JsonObject>())!["balance"]!.GetValue<long>());
        Assert.Equal(130, Balance);

        var ledger = (await _root.Client.GetFromJsonAsync<JsonObject>("/admin/api/users/alice/ledger?limit=2"))!;
        Assert.Equal(130, ledger["balance"]!.GetValue<long>());
        Assert.Equal(["adjust", "grant"], ledger["ledger"]!.AsArray().Select(e => e!["kind"]!.GetValue<string>()));
        Assert.Equal([-20, 50], ledger["ledger"]!.AsArray().Select(e => e!["amount"]!.GetValue<long>()));
        var all = (await _root.Client.GetFromJsonAsync<JsonObject>("/admin/api/users/alice/ledger"))!;
        Assert.Equal(3, all["ledger"]!.AsArray().Count);
        Ledger.AssertAudited(App.Store);
    }

    [Theory]
    [InlineData("alice", "not json", 400, "invalid_json")]
    [InlineData("alice", "", 400, "invalid_json")]
    [InlineData("alice", "[1, 2]", 400, "invalid_json")]
    [InlineData("alice", """{"kind": "grant", "kind": "adjust", "amount": 1}""", 400, "invalid_json")]
    [InlineData("alice", """{"amount": 5}""", 400, "invalid_kind")]
    [InlineData("alice", """{"kind": "gift", "amount": 5}""", 400, "invalid_kind")]
    [InlineData("alice", """{"kind": 1, "amount": 5}""", 400, "invalid_kind")]
    [InlineData("alice", """{"kind": "grant"}""", 400, "invalid_amount")]
    [InlineData("alice", """{"kind": "grant", "amount": "5"}""", 400, "invalid_amount")]
    [InlineData("alice", """{"kind": "grant", "amount": 1.5}""", 400, "invalid_amount")]
    [InlineData("alice", """{"kind": "grant", "amount": -5}""", 400, "invalid_amount")]
    [InlineData("alice", """{"kind": "grant", "amount": 0}""", 400, "invalid_amount")]
    [InlineData("alice", """{"kind": "grant", "amount": 99999999999999999999}""", 400, "invalid_amount")]
    [InlineData("alice", """{"kind": "grant", "amount": 9000000000000000000}""", 400, "invalid_amount")]
    [InlineData("alice", """{"kind": "adjust", "amount": 0, "note": "x"}""", 400, "invalid_amount")]
    [InlineData("alice", """{"kind": "adjust", "amount": 5}""", 400, "note_required")]
    [InlineData("alice", """{"kind": "adjust", "amount": 5, "note": "  "}""", 400, "note_required")]
    [InlineData("alice", """{"kind": "adjust", "amount": 5, "note": 7}""", 400, "invalid_note")]
    [InlineData("alice", """{"kind": "adjust", "amount": -101, "note": "too much"}""", 409, "insufficient_credits")]
    [InlineData("nobody", """{"kind": "grant", "amount": 5}""", 404, "user_not_found")]
    public async Task EachBadCreditMoveHasItsCodeAndWritesNothing(string user, string body, int status, string code)
    {
        var rows = LedgerRows;

        await Problem(await PostCredits(_root.Client, user, body), (HttpStatusCode)status, code);

        Assert.Equal(rows, LedgerRows);
        Assert.Equal(100, Balance);
    }

    [Fact]
    public async Task ALongNoteIsRefused()
    {
        var body = new JsonObject { ["kind"] = "adjust", ["amount"] = 1, ["note"] = new string('n', 1001) }.ToJsonString();

        await Problem(await PostCredits(_root.Client, "alice", body), HttpStatusCode.BadRequest, "invalid_note");
    }

    [Theory]
    [InlineData("/admin/api/users/alice/ledger?limit=0")]
    [InlineData("/admin/api/users/alice/ledger?limit=1001")]
    [InlineData("/admin/api/users/alice/ledger?limit=ten")]
    [InlineData("/admin/api/users/alice/ledger?limit=-1")]
    public async Task ABadLedgerLimitIs400(string path)
    {
        await Problem(await _root.Client.GetAsync(path), HttpStatusCode.BadRequest, "invalid_limit");
    }

    [Fact]
    public async Task TheLedgerOfAnUnknownUserIs404()
    {
        await Problem(await _root.Client.GetAsync("/admin/api/users/nobody/ledger"), HttpStatusCode.NotFound, "user_not_found");
    }

    [Fact]
    public async Task TheCreditsAdminApiNeedsAnAdminKey()
    {
        var anonymous = App.CreateClient();
        const string grant = """{"kind": "grant", "amount": 1000}""";

        await Problem(await PostCredits(anonymous, "alice", grant), HttpStatusCode.Unauthorized, "missing_api_key");
        await Problem(await anonymous.GetAsync("/admin/api/users/alice/ledger"), HttpStatusCode.Unauthorized, "missing_api_key");
        await Problem(await anonymous.GetAsync("/admin/api/credits/audit"), HttpStatusCode.Unauthorized, "missing_api_key");
        await Problem(await PostCredits(App.ClientFor("sb_not_a_real_key"), "alice", grant), HttpStatusCode.Unauthorized, "invalid_api_key");
        await Problem(await PostCredits(_alice.Client, "alice", grant), HttpStatusCode.Forbidden, "admin_required");
        await Problem(await _alice.Client.GetAsync("/admin/api/users/alice/ledger"), HttpStatusCode.Forbidden, "admin_required");
        await Problem(await _alice.Client.GetAsync("/admin/api/credits/audit"), HttpStatusCode.Forbidden, "admin_required");
        Assert.Equal(100, Balance);
    }
}

public sealed class CreditsOnSqlite() : CreditsTests(StoreKind.Sqlite);

public sealed class CreditsOnPostgres() : CreditsTests(StoreKind.Postgres);
