using Switchboard.Lifecycle;
using Switchboard.Requests;

namespace Switchboard.Tests.Persistence;

/// <summary>
/// The admins' request searches (the panel's Requests page, <c>GET /admin/api/requests</c>) find
/// their rows through an index on a table of many requests, on both stores: a user's through
/// <c>requests_user_seq</c>, failed ones through <c>requests_failed</c>, an offer's or a deal's through
/// <c>requests_target_seq</c>, and the dashboard's last 24 h through <c>requests_created</c>. Without them a user's page sorted all that user's rows and a status
/// page walked the table (bench/README.md, "Admin panel and admin API").
/// </summary>
public abstract class RequestSearchPlanTests(StoreKind kind) : AppTests
{
    private const int Rows = 20_000;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind);
        // Free requests of two users, one in a hundred of them the rare user's, of the rare offer
        // s/rare, and failed: rows
        // the store could hold (price 0, so the credits audit has nothing to say).
        app.Store.Store.Write(c =>
        {
            c.Execute("INSERT INTO users (id, name, credits, created_at) VALUES ('u1', 'many', 0, 0), ('u2', 'rare', 0, 0)");
            for (var i = 0; i < Rows; i++)
            {
                var rare = i % 100 == 0;
                FreeRequests.Insert(c, $"r{i:D8}", rare ? "u2" : "u1", "offer", "s", rare ? "rare" : "a", rare ? "failed" : "succeeded", 1_000_000L + i);
            }
            c.Execute(kind == StoreKind.Postgres ? "ANALYZE requests" : "ANALYZE");
            return 0;
        });
        return app;
    }

    private string Plan(RequestFilter filter) => Plan(RequestAdmin.SearchSql(filter, filter.User is null ? null : "u2"));

    private string Plan((string Sql, (string, object?)[] Args) statement)
    {
        var (sql, args) = statement;
        return QueryPlans.Of(App, sql, args);
    }

    private static RequestFilter Filter(string? status = null, string? user = null, string? offer = null, string? deal = null) =>
        new(status, user, offer, deal, null, null, RequestAdmin.DefaultLimit, null);

    [Fact]
    public void AUsersRequestsComeThroughTheUserAndSeqIndex()
    {
        var plan = Plan(Filter(user: "rare"));
        Assert.Contains("requests_user_seq", plan);
        Assert.DoesNotContain("TEMP B-TREE", plan); // SQLite: no sort of the user's rows.
        Assert.DoesNotContain("Sort", plan); // PostgreSQL: the same.
    }

    [Fact]
    public void FailedRequestsComeThroughTheirPartialIndex() =>
        Assert.Contains("requests_failed", Plan(Filter(status: RequestStatus.Failed)));

    [Fact]
    public void AnOffersRequestsComeThroughTheTargetIndex()
    {
        var plan = Plan(Filter(offer: "s/rare"));
        Assert.Contains("requests_target_seq", plan);
        Assert.DoesNotContain("TEMP B-TREE", plan);
        Assert.DoesNotContain("Sort", plan);
    }

    [Fact]
    public void ADealsRequestsComeThroughTheTargetIndex() =>
        Assert.Contains("requests_target_seq", Plan(Filter(deal: "pack")));

    [Fact]
    public void TheDashboardsLastDayComesThroughTheCreatedIndex() =>
        Assert.Contains("requests_created", Plan((Admin.Panel.HourlyRequestCounts.HourlySql, [("@from", 1_000_000L + Rows - 10)])));

    [Fact]
    public void TheSearchStillAnswersWhatItShould()
    {
        var page = App.Store.Query(c => RequestAdmin.Search(c, Filter(status: RequestStatus.Failed, user: "rare")));
        Assert.Equal(RequestAdmin.DefaultLimit, page.Rows.Count);
        Assert.All(page.Rows, r => Assert.Equal(("rare", "failed"), (r.User, r.Status)));
        Assert.Equal($"r{Rows - 100:D8}", page.Rows[0].Id); // Newest first.
        Assert.NotNull(page.Older);
        var offer = App.Store.Query(c => RequestAdmin.Search(c, Filter(offer: "s/rare")));
        Assert.Equal(RequestAdmin.DefaultLimit, offer.Rows.Count);
        Assert.All(offer.Rows, r => Assert.Equal("s/rare", r.Target));
        Assert.Equal($"r{Rows - 100:D8}", offer.Rows[0].Id);
    }
}

public sealed class RequestSearchPlanTestsOnSqlite() : RequestSearchPlanTests(StoreKind.Sqlite);

public sealed class RequestSearchPlanTestsOnPostgres() : RequestSearchPlanTests(StoreKind.Postgres);
