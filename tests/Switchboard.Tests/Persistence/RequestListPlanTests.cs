using Switchboard.Requests;

namespace Switchboard.Tests.Persistence;

/// <summary>
/// <c>GET /svc/requests/</c> reads a page of the caller's requests through an index, never
/// sorting them, on both stores and a table of many requests of two users: all of a user's
/// through <c>requests_user_seq</c>, an offer's or a deal's through <c>requests_user_target_seq</c>
/// (migration 17), a later page from its cursor's seq on.
/// </summary>
public abstract class RequestListPlanTests(StoreKind kind) : AppTests
{
    private const int Rows = 20_000;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind);
        app.Store.Store.Write(c =>
        {
            c.Execute("INSERT INTO users (id, name, credits, created_at) VALUES ('u1', 'many', 0, 0), ('u2', 'rare', 0, 0)");
            // One request in a hundred is u2's (the caller); half of everyone's are of the offer
            // s/rare (in blocks of a hundred), and one in ten is a request of the deal "pack".
            for (var i = 0; i < Rows; i++)
            {
                var deal = i % 10 == 5;
                FreeRequests.Insert(c, $"r{i:D8}", i % 100 is 1 or 5 ? "u2" : "u1", deal ? "deal" : "offer",
                    deal ? "deal" : "s", deal ? "pack" : i / 100 % 2 == 0 ? "rare" : "a", i % 7 == 0 ? "failed" : "succeeded", 1_000_000L + i);
            }
            c.Execute(kind == StoreKind.Postgres ? "ANALYZE requests" : "ANALYZE");
            return 0;
        });
        return app;
    }

    private string Plan(RequestListQuery query)
    {
        var (sql, args) = query.Sql("u2");
        return QueryPlans.Of(App, sql, args);
    }

    private static RequestListQuery Query(string? status = null, string? offer = null, string? deal = null, long? before = null) =>
        new(status?.Split(','), offer?.Split('/')[0], offer?.Split('/')[1], deal, null, RequestListQuery.DefaultLimit, before);

    private static void NoSort(string plan)
    {
        Assert.DoesNotContain("TEMP B-TREE", plan); // SQLite: no sort of the user's rows.
        Assert.DoesNotContain("Sort", plan); // PostgreSQL: the same.
        Assert.DoesNotContain("SCAN requests\n", plan + "\n"); // SQLite: no walk of the table.
        Assert.DoesNotContain("Seq Scan", plan);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("succeeded")]
    [InlineData("failed,cancelled")]
    public void AUsersRequestsComeThroughTheUserAndSeqIndex(string? status)
    {
        var plan = Plan(Query(status: status));
        Assert.Contains("requests_user_seq", plan);
        NoSort(plan);
    }

    [Fact]
    public void ALaterPageStartsAtItsCursorInTheSameIndex()
    {
        var plan = Plan(Query(before: 10_000));
        Assert.Contains("requests_user_seq", plan);
        NoSort(plan);
    }

    [Fact]
    public void AnOffersRequestsComeThroughTheUserTargetIndex()
    {
        var plan = Plan(Query(offer: "s/rare"));
        Assert.Contains("requests_user_target_seq", plan);
        NoSort(plan);
    }

    [Fact]
    public void ADealsRequestsComeThroughTheUserTargetIndex()
    {
        var plan = Plan(Query(deal: "pack"));
        Assert.Contains("requests_user_target_seq", plan);
        NoSort(plan);
    }
}

public sealed class RequestListPlanTestsOnSqlite() : RequestListPlanTests(StoreKind.Sqlite);

public sealed class RequestListPlanTestsOnPostgres() : RequestListPlanTests(StoreKind.Postgres);
