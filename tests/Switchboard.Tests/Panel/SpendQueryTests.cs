using Switchboard.Credits;

namespace Switchboard.Tests.Panel;

/// <summary>
/// The Spend page's query (Credits/SpendQuery.cs) on both stores: for a ledger of several users,
/// offers, a deal, refunds, a grant and a charge whose request was pruned, at times inside and
/// outside each range, every range's totals per user, per offer and per bucket equal sums made
/// here from the seeded rows; and on a ledger of a year, each statement reads the range through
/// <c>ledger_created</c> (migration 21), never the whole table.
/// </summary>
public abstract class SpendQueryTests(StoreKind kind) : AppTests
{
    private const long Minute = 60_000, Hour = 60 * Minute, Day = 24 * Hour;

    /// <summary>A seeded ledger row: whose, which request (null: pruned), kind, amount (charges negative), how long before now.</summary>
    private sealed record Row(string User, string? Request, string Kind, long Amount, long Ago);

    private static readonly Dictionary<string, (string User, string Offer)> Requests = new()
    {
        ["r1"] = ("ua", "text/shout"),
        ["r2"] = ("ua", "text/echo"),
        ["r3"] = ("ub", "text/shout"),
        ["r4"] = ("ub", "deal/pack"),
        ["r5"] = ("uc", "text/echo"),
    };

    private static readonly Row[] Rows =
    [
        new("ua", "r1", "charge", -5, 5 * Minute),
        new("ua", "r1", "charge", -5, 90 * Minute),
        new("ua", "r1", "refund", 5, 80 * Minute),
        new("ua", "r2", "charge", -7, 23 * Hour),
        new("ub", "r3", "charge", -5, 25 * Hour),
        new("ub", "r4", "charge", -20, 3 * Day),
        new("ub", "r4", "refund", 8, 3 * Day - Hour),
        new("uc", "r5", "charge", -2, 6 * Day),
        new("ua", null, "charge", -11, 8 * Day),
        new("uc", "r5", "charge", -2, 29 * Day),
        new("ub", "r3", "charge", -50, 31 * Day),
        new("ua", "r2", "charge", -40, 400 * Day),
        new("ud", null, "grant", 100, 2 * Hour),
        new("ud", null, "adjust", -3, 2 * Hour),
    ];

    private long _now;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind);
        // Ledger rows written here, at chosen times, for requests that never ran: not a history the credits audit can follow.
        app.Store.SkipAuditBecause("the spend query's ledger is seeded row by row at chosen times, without runs");
        _now = Clock.NowMs();
        app.Store.Store.Write(c =>
        {
            c.Execute("INSERT INTO users (id, name, credits, created_at) VALUES ('ua', 'alice', 0, 0), ('ub', 'bob', 0, 0), ('uc', 'carol', 0, 0), ('ud', 'dan', 0, 0)");
            foreach (var (id, (user, offer)) in Requests)
            {
                FreeRequests.Insert(c, id, user, offer.StartsWith("deal/", StringComparison.Ordinal) ? "deal" : "offer", offer.Split('/')[0], offer.Split('/')[1], "succeeded", 0);
            }
            for (var i = 0; i < Rows.Length; i++)
            {
                Insert(c, Rows[i].User, Rows[i].Request, Rows[i].Kind, Rows[i].Amount, i + 1, _now - Rows[i].Ago);
            }
            return 0;
        });
        return app;
    }

    private static void Insert(System.Data.Common.DbConnection c, string user, string? request, string kind, long amount, int run, long at) => c.Execute(
        """
        INSERT INTO ledger (user_id, kind, amount, request_id, request_seq, run, created_at)
        VALUES (@u, @k, @a, @r, COALESCE((SELECT seq FROM requests WHERE id = @r), 900000 + @run), @run, @at)
        """,
        ("@u", user), ("@k", kind), ("@a", amount), ("@r", request ?? $"pruned{run}"), ("@run", run), ("@at", at));

    [Theory]
    [InlineData("24h")]
    [InlineData("7d")]
    [InlineData("30d")]
    public void EveryRangesTotalsEqualTheSeededLedgersSums(string name)
    {
        var range = SpendRange.Of(name, _now)!;
        var inRange = Rows.Where(r => r.Kind is "charge" or "refund" && _now - r.Ago >= range.FromMs && _now - r.Ago < range.ToMs).ToList();
        Assert.NotEmpty(inRange);

        var report = App.Store.Query(c => SpendQuery.Read(c, range));

        var names = new Dictionary<string, string> { ["ua"] = "alice", ["ub"] = "bob", ["uc"] = "carol" };
        var byUser = inRange.GroupBy(r => r.User).ToDictionary(g => names[g.Key], g => -g.Sum(r => r.Amount));
        Assert.Equal(byUser.OrderBy(p => p.Key), report.Users.ToDictionary(u => u.Name, u => u.Credits).OrderBy(p => p.Key));
        Assert.Equal(byUser.Count, report.UserCount);
        Assert.Equal(report.Users.Select(u => u.Credits).OrderDescending(), report.Users.Select(u => u.Credits));

        var byOffer = inRange.GroupBy(r => r.Request is null ? SpendQuery.Pruned : Requests[r.Request].Offer).ToDictionary(g => g.Key, g => -g.Sum(r => r.Amount));
        Assert.Equal(byOffer.OrderBy(p => p.Key), report.Offers.ToDictionary(o => o.Name, o => o.Credits).OrderBy(p => p.Key));
        var charged = inRange.Where(r => r.Kind == "charge").GroupBy(r => r.Request is null ? SpendQuery.Pruned : Requests[r.Request].Offer)
            .ToDictionary(g => g.Key, g => (long)g.Select(r => r.Request ?? r.Ago.ToString(System.Globalization.CultureInfo.InvariantCulture)).Distinct().Count());
        Assert.All(report.Offers, o => Assert.Equal(charged.GetValueOrDefault(o.Name), o.Requests));

        Assert.Equal(-inRange.Sum(r => r.Amount), report.Total);
        Assert.Equal(range.Buckets, report.Buckets.Length);
        for (var b = 0; b < range.Buckets; b++)
        {
            var expected = -inRange.Where(r => (_now - r.Ago - range.FromMs) / range.BucketMs == b).Sum(r => r.Amount);
            Assert.Equal(expected, report.Buckets[b].Sum());
        }
        // The stacked users are the top spenders, in order; each one's buckets add up to its row.
        Assert.Equal(report.Users.Where(u => u.Credits > 0).Take(SpendQuery.TopUsers).Select(u => u.Name), report.Top.Select(t => t.Name));
        for (var i = 0; i < report.Top.Count; i++)
        {
            Assert.Equal(report.Top[i].Credits, report.Buckets.Sum(b => b[i]));
        }
    }

    [Fact]
    public void TheRangesAreTheLastClockHoursAndUtcDaysAndNothingElse()
    {
        var now = DateTimeOffset.Parse("2026-03-10T15:42:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();
        var day = SpendRange.Of("24h", now)!;
        Assert.Equal(DateTimeOffset.Parse("2026-03-09T16:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), day.FromMs);
        Assert.Equal(24, day.Buckets);
        var month = SpendRange.Of("30d", now)!;
        Assert.Equal(DateTimeOffset.Parse("2026-02-09T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), month.FromMs);
        Assert.Equal(30, month.Buckets);
        Assert.Null(SpendRange.Of("1y", now));
        Assert.Null(SpendRange.Of("", now));
    }

    [Theory]
    [InlineData("24h")]
    [InlineData("30d")]
    public void EachStatementReadsTheRangeThroughTheTimeIndex(string name)
    {
        App.Store.Store.Write(c =>
        {
            // A year of charges, one every ~26 minutes: 30 days are about 8% of them. One statement
            // writes them (row i as Insert would: user, pruned request, run 1000 + i), not 20,000.
            c.Execute(
                """
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < @count - 1)
                INSERT INTO ledger (user_id, kind, amount, request_id, request_seq, run, created_at)
                SELECT CASE WHEN i % 3 = 0 THEN 'ua' ELSE 'ub' END, 'charge', -1, 'pruned' || CAST(1000 + i AS TEXT), 900000 + 1000 + i, 1000 + i, @start + i * @step
                FROM n
                """,
                ("@count", 20_000), ("@start", _now - 365 * Day), ("@step", 365 * Day / 20_000));
            c.Execute(kind == StoreKind.Postgres ? "ANALYZE ledger" : "ANALYZE");
            return 0;
        });
        Assert.Equal(20_000, App.Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM ledger WHERE run >= 1000")));
        var range = SpendRange.Of(name, _now)!;
        foreach (var (sql, args) in new[] { (SpendQuery.UsersSql, SpendQuery.Args(range)), (SpendQuery.OffersSql, SpendQuery.Args(range)), (SpendQuery.BucketsSql, SpendQuery.BucketArgs(range, ["ua"])) })
        {
            var plan = QueryPlans.Of(App, sql, args);
            Assert.Contains("ledger_created", plan);
            Assert.DoesNotContain("SCAN l\n", plan + "\n"); // SQLite: no walk of the ledger.
            Assert.DoesNotContain("Seq Scan on ledger", plan);
        }
    }
}

public sealed class SpendQueryTestsOnSqlite() : SpendQueryTests(StoreKind.Sqlite);

public sealed class SpendQueryTestsOnPostgres() : SpendQueryTests(StoreKind.Postgres);
