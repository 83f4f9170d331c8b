namespace Switchboard.Tests.Retention;

/// <summary>
/// <c>switchboard users forget NAME</c>: the user's requests, steps, results and webhook rows are
/// deleted (a blob another user's request lists stays), the ledger and the account stay, the
/// credits audit passes, the audit trail records it; refused, with nothing deleted, while a
/// request of theirs is not finished. On SQLite and PostgreSQL.
/// </summary>
public abstract class UserForgetTests(StoreKind kind) : AppTests
{
    private TestUser _alice = null!, _bob = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, RetentionTests.NoTimedPasses, catalog: RequestPruningTests.Catalog);
        _alice = await app.AddUserAsync("alice", 100);
        _bob = await app.AddUserAsync("bob", 100);
        return app;
    }

    private long Count(string sql, params (string, object?)[] args) => App.Query(c => c.Scalar<long>(sql, args));

    private static async Task<JsonObject> Finish(TestUser user, string path, object body)
    {
        var response = await user.Client.PostJsonAsync(path, body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await SwitchboardFactory.WaitForEnd(user.Client, await SwitchboardFactory.IdOf(response), TimeSpan.FromSeconds(30));
    }

    private static string BlobUrl(JsonObject done) => done["results"]!.AsArray().Select(r => r!["url"]?.GetValue<string>()).First(u => u is not null)!;

    [Fact]
    public async Task ForgettingAUserDeletesTheirRequestsAndResultsAndKeepsTheLedger()
    {
        var shared = await Finish(_alice, "/svc/img/keep/", new { what = "owl" });
        var own = await Finish(_alice, "/svc/img/keep/", new { what = "alice's cat" });
        var deal = await Finish(_alice, "/svc/deal/pair/", new { inputs = new { what = "dog" } });
        var bobs = await Finish(_bob, "/svc/img/keep/", new { what = "owl" });
        Assert.Equal(BlobUrl(shared).Split('/')[^1], BlobUrl(bobs).Split('/')[^1]);
        RequestPruningTests.AddWebhookRows(App, _alice.Id, own["id"]!.GetValue<string>());
        var ledger = Count("SELECT COUNT(*) FROM ledger WHERE user_id = @u", ("@u", _alice.Id));
        var balance = App.Balance(_alice);

        var counts = await App.CliJsonAsync("users", "forget", "alice", "--actor", "dpo");

        Assert.Equal("""{"user":"alice","requests":3,"steps":2,"blobs":2,"webhook_events":1,"webhook_attempts":1}""", counts.ToJsonString());
        foreach (var done in new[] { shared, own, deal })
        {
            var id = done["id"]!.GetValue<string>();
            Assert.Equal(HttpStatusCode.NotFound, (await _alice.Client.GetAsync($"/svc/request/{id}/")).StatusCode);
        }
        Assert.Equal(0, Count("SELECT COUNT(*) FROM requests WHERE user_id = @u", ("@u", _alice.Id)));
        // Bob's image has the same bytes as alice's first: it stays, and he still reads it.
        var bobsImage = await _bob.Client.GetAsync(BlobUrl(bobs));
        Assert.Equal(HttpStatusCode.OK, bobsImage.StatusCode);
        Assert.Equal(1000, (await bobsImage.Content.ReadAsByteArrayAsync()).Length);
        Assert.Equal(1, Count("SELECT COUNT(*) FROM blobs"));
        Assert.Equal(0, Count("SELECT COUNT(*) FROM webhook_events") + Count("SELECT COUNT(*) FROM webhook_attempts"));
        Assert.Equal(ledger, Count("SELECT COUNT(*) FROM ledger WHERE user_id = @u", ("@u", _alice.Id)));
        Assert.Equal(balance, App.Balance(_alice));
        Assert.Equal(HttpStatusCode.OK, (await _alice.Client.GetAsync("/svc/me/")).StatusCode);
        var audit = App.Store.Audit();
        Assert.True(audit.Ok, string.Join("\n", audit.Problems.Select(p => p.ToJson().ToJsonString())));
        Assert.Equal("dpo alice", App.Query(c => c.Scalar<string>("SELECT actor || ' ' || target FROM audit_log WHERE action = 'users forget'")));
    }

    [Fact]
    public async Task AUserWithARequestNotFinishedIsNotForgotten()
    {
        var done = await Finish(_alice, "/svc/t/a/", new { what = "x" });
        App.Query(c =>
        {
            FreeRequests.Insert(c, "req_stillrunning", _alice.Id, "offer", "t", "a", "running", 1);
            return true;
        });

        var (exit, output, error) = await App.CliAsync("users", "forget", "alice");

        Assert.Equal(1, exit);
        Assert.Empty(output);
        Assert.Contains("alice: the user has 1 request(s) not finished yet", error);
        Assert.Contains("(nothing deleted)", error);
        Assert.Equal(HttpStatusCode.OK, (await _alice.Client.GetAsync($"/svc/request/{done["id"]!.GetValue<string>()}/")).StatusCode);
        Assert.Equal(2, Count("SELECT COUNT(*) FROM requests WHERE user_id = @u", ("@u", _alice.Id)));
    }

    [Fact]
    public async Task AnAdminForgetsAUserOverTheAdminApi()
    {
        var admin = await App.AddAdminAsync();
        var done = await Finish(_alice, "/svc/img/keep/", new { what = "owl" });
        var ledger = Count("SELECT COUNT(*) FROM ledger WHERE user_id = @u", ("@u", _alice.Id));

        var response = await admin.Client.PostAsync("/admin/api/users/alice/forget", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"user":"alice","requests":1,"steps":0,"blobs":1,"webhook_events":0,"webhook_attempts":0}""",
            (await response.Content.ReadFromJsonAsync<JsonObject>())!.ToJsonString());
        Assert.Equal(HttpStatusCode.NotFound, (await _alice.Client.GetAsync($"/svc/request/{done["id"]!.GetValue<string>()}/")).StatusCode);
        Assert.Equal(ledger, Count("SELECT COUNT(*) FROM ledger WHERE user_id = @u", ("@u", _alice.Id)));
        Assert.Equal(1, Count("SELECT COUNT(*) FROM audit_log WHERE action = 'POST /admin/api/users/{name}/forget' AND target = 'alice'"));
    }

    [Fact]
    public async Task TheAdminApiRefusesAnUnknownUserAndOneWithUnfinishedRequestsWithProblems()
    {
        var admin = await App.AddAdminAsync();
        App.Query(c =>
        {
            FreeRequests.Insert(c, "req_stillrunning", _bob.Id, "offer", "t", "a", "queued", Clock.NowMs() + 3_600_000);
            return c.Execute("UPDATE requests SET not_before = @later WHERE id = 'req_stillrunning'", ("@later", Clock.NowMs() + 3_600_000));
        });

        await ProblemAssert.Problem(await admin.Client.PostAsync("/admin/api/users/nobody/forget", null), HttpStatusCode.NotFound, "user_not_found");
        var refused = await ProblemAssert.Problem(await admin.Client.PostAsync("/admin/api/users/bob/forget", null), HttpStatusCode.Conflict, "requests_not_finished");

        Assert.Equal(1, refused["unfinished"]!.GetValue<int>());
        Assert.Equal(1, Count("SELECT COUNT(*) FROM requests WHERE user_id = @u", ("@u", _bob.Id)));
        Assert.Equal(0, Count("SELECT COUNT(*) FROM audit_log WHERE action LIKE '%forget%'"));
    }

    [Fact]
    public async Task AnUnknownUserIsAnError()
    {
        var (exit, output, error) = await App.CliAsync("users", "forget", "nobody");

        Assert.Equal(1, exit);
        Assert.Empty(output);
        Assert.Contains("no user named 'nobody'", error);
    }
}

public sealed class UserForgetTestsOnSqlite() : UserForgetTests(StoreKind.Sqlite);

public sealed class UserForgetTestsOnPostgres() : UserForgetTests(StoreKind.Postgres);
