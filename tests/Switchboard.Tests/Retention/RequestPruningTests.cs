using Microsoft.Extensions.DependencyInjection;
using Switchboard.Lifecycle;
using Switchboard.Observability;
using Switchboard.Retention;

namespace Switchboard.Tests.Retention;

/// <summary>
/// Finished requests pruned after the retention (recon's leader, <see cref="RetentionService"/>),
/// a pass run as of a later time instead of waiting a month: the request, its deal's steps, its
/// binary results and webhook rows go; the ledger stays and audits clean; a request that is not
/// final stays whatever its age; and the audit still finds a real problem on a pruned store.
/// On SQLite and PostgreSQL.
/// </summary>
public abstract class RequestPruningTests(StoreKind kind) : AppTests
{
    internal const string Catalog = """
        handlers:
          - {id: echo.render, credits: 1}
        offers:
          - {service: img, action: keep, handler: echo.render, price: 2, prompt_template: "Small {what}", params: {result_bytes: 1000, media_type: image/png}}
          - {service: t, action: a, handler: echo.render, price: 3, prompt_template: "A({what})"}
          - {service: t, action: fail, handler: echo.render, price: 5, prompt_template: "F({what})", params: {fail: "no luck"}}
        deals:
          - name: pair
            offers:
              - {offer: t/a, pipeline: none}
              - {offer: img/keep, pipeline: none}
        """;

    private const long Day = 86_400_000;

    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, RetentionTests.NoTimedPasses, catalog: Catalog);
        _alice = await app.AddUserAsync("alice", 100);
        return app;
    }

    private long Count(string sql, params (string, object?)[] args) => App.Query(c => c.Scalar<long>(sql, args));

    private async Task<string> Finish(string path, object body)
    {
        var response = await _alice.Client.PostJsonAsync(path, body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = await SwitchboardFactory.IdOf(response);
        await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(30));
        return id;
    }

    /// <summary>An outbox event and one attempt for <paramref name="requestId"/>, as a delivery would leave them.</summary>
    internal static void AddWebhookRows(TestApp app, string userId, string requestId)
    {
        var eventId = "evt_" + Guid.NewGuid().ToString("N")[..12];
        app.Query(c =>
        {
            c.Execute(
                """
                INSERT INTO webhook_events (id, user_id, url, type, request_id, run, status, attempts, next_at, window_from, created_at, finished_at)
                VALUES (@id, @user, 'https://hooks.example/x', 'request.succeeded', @request, 1, 'delivered', 1, 0, 0, 0, 0)
                """, ("@id", eventId), ("@user", userId), ("@request", requestId));
            return c.Execute(
                "INSERT INTO webhook_attempts (event_id, attempt, owner, started_at, finished_at, outcome, status_code) VALUES (@id, 1, 'p', 0, 0, 'delivered', 200)",
                ("@id", eventId));
        });
    }

    private Task<RetentionPass> PassAt(long now) => App.Services.GetRequiredService<RetentionService>().RunOnceAsync(now);

    [Fact]
    public async Task FinishedRequestsPastTheRetentionGoWithTheirStepsBlobsAndWebhookRowsAndTheLedgerStays()
    {
        var image = await Finish("/svc/img/keep/", new { what = "owl" });
        var failed = await Finish("/svc/t/fail/", new { what = "x" });
        var deal = await Finish("/svc/deal/pair/", new { inputs = new { what = "cat" } });
        AddWebhookRows(App, _alice.Id, image);
        // Old and not final (a running row with no lease: recon leaves it alone): never pruned.
        App.Query(c =>
        {
            FreeRequests.Insert(c, "req_stillrunning", _alice.Id, "offer", "t", "a", "running", 1);
            return true;
        });
        var ledger = Count("SELECT COUNT(*) FROM ledger");
        var balance = App.Balance(_alice);
        Assert.Equal(2, Count("SELECT COUNT(*) FROM blobs"));

        var metric = SwitchboardMetrics.RetentionRows.WithLabels("requests_pruned");
        var counted = metric.Value;

        var early = await PassAt(Clock.NowMs() + 29 * Day);
        Assert.Equal(0, early.Pruned.Requests);
        var pass = await PassAt(Clock.NowMs() + 31 * Day);

        Assert.Equal(new PruneCounts(3, 2, 2, 1, 1), pass.Pruned);
        // Other tests prune in parallel: at least ours were counted.
        Assert.True(metric.Value - counted >= 3, $"switchboard_retention_rows_total{{kind=\"requests_pruned\"}} grew by {metric.Value - counted}");
        foreach (var id in new[] { image, failed, deal })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await _alice.Client.GetAsync($"/svc/request/{id}/")).StatusCode);
        }
        Assert.Equal(1, Count("SELECT COUNT(*) FROM requests"));
        Assert.Equal("running", App.Query(c => c.Scalar<string>("SELECT status FROM requests WHERE id = 'req_stillrunning'")));
        Assert.Equal(0, Count("SELECT COUNT(*) FROM blobs") + Count("SELECT COUNT(*) FROM result_blobs"));
        Assert.Equal(0, Count("SELECT COUNT(*) FROM webhook_events") + Count("SELECT COUNT(*) FROM webhook_attempts"));
        Assert.Equal(ledger, Count("SELECT COUNT(*) FROM ledger"));
        Assert.Equal(balance, App.Balance(_alice));
        Assert.Equal(3, Count("SELECT COUNT(*) FROM requests_pruned WHERE reason = 'retention'"));
        var audit = App.Store.Audit();
        Assert.True(audit.Ok, string.Join("\n", audit.Problems.Select(p => p.ToJson().ToJsonString())));
        Assert.Equal(PruneCounts.None, (await PassAt(Clock.NowMs() + 31 * Day)).Pruned);
    }

    [Fact]
    public async Task ThePrunedStoreStillShowsARealProblemToTheAudit()
    {
        var image = await Finish("/svc/img/keep/", new { what = "owl" });
        await PassAt(Clock.NowMs() + 31 * Day);
        Assert.Equal(0, Count("SELECT COUNT(*) FROM requests"));
        var seq = Count("SELECT seq FROM requests_pruned WHERE id = @id", ("@id", image));

        // A refund of the pruned request's succeeded run, and a charge of a request that never
        // existed: both still found, through what the prune kept and through its absence.
        App.Query(c => c.Execute(
            """
            INSERT INTO ledger (user_id, kind, amount, request_id, request_seq, run, created_at) VALUES
                (@user, 'refund', 2, @id, @seq, 1, 0),
                (@user, 'charge', -1, 'req_neverwas', 999999, 1, 0)
            """, ("@user", _alice.Id), ("@id", image), ("@seq", seq)));
        App.Store.SkipAuditBecause("the test writes bad ledger rows on purpose");
        var problems = App.Store.Audit().Problems.Select(p => (p.Kind, p.RequestId)).ToList();

        Assert.Contains(("unexpected_refund", image), problems);
        Assert.Contains(("invalid_entry", "req_neverwas"), problems);
    }
}

public sealed class RequestPruningTestsOnSqlite() : RequestPruningTests(StoreKind.Sqlite);

public sealed class RequestPruningTestsOnPostgres() : RequestPruningTests(StoreKind.Postgres);
