using Switchboard.Lifecycle;

namespace Switchboard.Tests.Retention;

/// <summary>
/// The prune finds its requests through <c>requests_created</c> (oldest first, no sort, no walk
/// of the table) and a request's webhook events through <c>webhook_events_request</c>
/// (migration 20), on both stores and a table of many requests of which few are old.
/// </summary>
public abstract class RetentionPlanTests(StoreKind kind) : AppTests
{
    private const int Rows = 20_000;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind);
        app.Store.Store.Write(c =>
        {
            c.Execute("INSERT INTO users (id, name, credits, created_at) VALUES ('u1', 'many', 0, 0)");
            for (var i = 0; i < Rows; i++)
            {
                FreeRequests.Insert(c, $"r{i:D8}", "u1", "offer", "s", "a", "succeeded", 1_000_000L + i * 1000L);
                c.Execute(
                    """
                    INSERT INTO webhook_events (id, user_id, url, type, request_id, run, status, next_at, window_from, created_at)
                    VALUES (@id, 'u1', 'https://hooks.example/x', 'request.succeeded', @request, 1, 'delivered', 0, 0, 0)
                    """, ("@id", $"e{i:D8}"), ("@request", $"r{i:D8}"));
            }
            c.Execute("UPDATE requests SET finished_at = created_at + 10");
            c.Execute(kind == StoreKind.Postgres ? "ANALYZE" : "ANALYZE");
            return 0;
        });
        return app;
    }

    [Fact]
    public void TheOldestFinishedRequestsComeThroughTheCreatedIndex()
    {
        var plan = QueryPlans.Of(App, RequestPruning.FinishedSql, [("@before", 1_000_000L + 100 * 1000L), ("@limit", 100)]);

        Assert.Contains("requests_created", plan);
        // A range of the index (only requests created before the cutoff), not a walk of all of it.
        Assert.Matches(@"SEARCH requests USING INDEX requests_created \(created_at<\?\)|Index Cond: \(created_at < ", plan);
        Assert.DoesNotContain("TEMP B-TREE", plan);
        Assert.DoesNotContain("SCAN requests\n", plan + "\n");
        Assert.DoesNotContain("Seq Scan on requests", plan);
    }

    [Fact]
    public void ARequestsWebhookEventsComeThroughTheirRequestIndex()
    {
        var plan = QueryPlans.Of(App, "DELETE FROM webhook_events WHERE request_id = @request", [("@request", "r00000042")]);

        Assert.Contains("webhook_events_request", plan);
    }
}

public sealed class RetentionPlanTestsOnSqlite() : RetentionPlanTests(StoreKind.Sqlite);

public sealed class RetentionPlanTestsOnPostgres() : RetentionPlanTests(StoreKind.Postgres);
