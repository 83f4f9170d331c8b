using Switchboard.Credits;

namespace Switchboard.Tests.Security;

/// <summary>
/// <c>GET /svc/me/?since=</c> reads every request of the caller's in the period and their ledger
/// rows: the period is at most <see cref="AccountEndpoints.MaxPeriod"/> (90 days), beyond it 400,
/// and the read goes through indexes over that range of created_at only, on both stores (a table of ten years
/// of requests, as the old 3660d bound allowed to read in one call).
/// </summary>
public abstract class AccountPeriodTests(StoreKind kind) : AppTests
{
    private const int Rows = 10_000;
    private static readonly long Day = (long)TimeSpan.FromDays(1).TotalMilliseconds;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind);
        // Ten years of requests, evenly spread, nine in ten of them u1's, each with its charge.
        var now = Clock.NowMs();
        // Requests without a purchase behind them: only the query's plan and counts are looked at.
        app.Store.SkipAuditBecause("synthetic requests and zero charges for a query plan");
        app.Store.Store.Write(c =>
        {
            c.Execute("INSERT INTO users (id, name, credits, created_at) VALUES ('u1', 'many', 0, 0), ('u2', 'rare', 0, 0)");
            for (var i = 0; i < Rows; i++)
            {
                var at = now - i * (3660 * Day / Rows);
                var user = i % 10 == 0 ? "u2" : "u1";
                c.Execute(
                    """
                    INSERT INTO requests (id, user_id, kind, service, action, handler, status, inputs, prompt, params, create_qty, price, run, max_attempts, created_at, updated_at)
                    VALUES (@id, @user, 'offer', 's', 'a', 'echo.render', 'succeeded', @inputs, 'p', @params, 1, 0, 1, 3, @at, @at)
                    """,
                    ("@id", $"r{i:D8}"), ("@user", user), ("@inputs", new Json("{}")), ("@params", new Json("{}")), ("@at", at));
                c.Execute(
                    "INSERT INTO ledger (user_id, kind, amount, request_id, request_seq, run, created_at) SELECT user_id, 'charge', 0, id, seq, 1, created_at FROM requests WHERE id = @id",
                    ("@id", $"r{i:D8}"));
            }
            c.Execute("ANALYZE");
            return 0;
        });
        return app;
    }

    private string Plan(long from) => App.Store.Query(c =>
    {
        using var command = c.Sql((kind == StoreKind.Postgres ? "EXPLAIN " : "EXPLAIN QUERY PLAN ") + AccountEndpoints.OffersSql, ("@u", "u1"), ("@from", from));
        using var reader = command.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read())
        {
            lines.Add(Convert.ToString(reader.GetValue(reader.FieldCount - 1), System.Globalization.CultureInfo.InvariantCulture)!);
        }
        return string.Join("\n", lines);
    });

    [Fact]
    public void TheLongestPeriodIsReadThroughIndexesOverItsRangeOnly()
    {
        var plan = Plan(Clock.NowMs() - (long)AccountEndpoints.MaxPeriod.TotalMilliseconds);

        // Either index reads the period's range of created_at only (PostgreSQL picks requests_created for a user with most rows).
        Assert.True(plan.Contains("requests_user", StringComparison.Ordinal) || plan.Contains("requests_created", StringComparison.Ordinal), plan);
        Assert.True(plan.Contains("ledger_once", StringComparison.Ordinal), plan);
        Assert.DoesNotContain("SCAN r\n", plan + "\n"); // SQLite: no walk of the requests table.
        Assert.DoesNotContain("SCAN l\n", plan + "\n");
        Assert.DoesNotContain("Seq Scan", plan); // PostgreSQL: the same.
    }

    [Fact]
    public void TheReadCountsOnlyTheRequestsOfThePeriod()
    {
        var from = Clock.NowMs() - (long)AccountEndpoints.MaxPeriod.TotalMilliseconds;
        var offers = App.Store.Query(c => AccountEndpoints.Offers(c, "u1", from));
        var expected = App.Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE user_id = 'u1' AND created_at >= @from", ("@from", from)));

        Assert.InRange(expected, 1, Rows / 30); // 90 of 3660 days: about 2.5 % of the table.
        Assert.Equal(expected, Assert.Single(offers).Requests);
    }
}

public sealed class AccountPeriodOnSqlite() : AccountPeriodTests(StoreKind.Sqlite);

public sealed class AccountPeriodOnPostgres() : AccountPeriodTests(StoreKind.Postgres);

/// <summary>The bound as the client meets it: 90d answers, 91d (and the old 3660d) is 400 <c>invalid_since</c>.</summary>
public sealed class AccountPeriodBoundTests : AppTests
{
    private HttpClient? _client;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        _client = (await app.AddUserAsync("alice", 10)).Client;
        return app;
    }

    [Theory]
    [InlineData("90d")]
    [InlineData("2160h")]
    [InlineData("129600m")]
    public async Task ThePeriodAtTheBoundIsAnswered(string since)
    {
        var response = await _client!.GetAsync("/svc/me/?since=" + since);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("alice", (await response.Content.ReadFromJsonAsync<JsonObject>())!["name"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("91d")]
    [InlineData("2161h")]
    [InlineData("129601m")]
    [InlineData("3660d")]
    public async Task APeriodBeyondTheBoundIs400(string since)
    {
        var response = await _client!.GetAsync("/svc/me/?since=" + since);

        var problem = await Problem(response, HttpStatusCode.BadRequest, "invalid_since");
        Assert.Contains("at most 90d", problem["detail"]!.GetValue<string>());
    }
}
