using Switchboard.Admin.Panel;

namespace Switchboard.Tests.Panel;

/// <summary>
/// The dashboard's hourly counts: the last 24 clock hours by when requests were made, on both
/// stores; settled hours are counted once per process, so a load reads only the last two hours
/// (and any hour since the first one with a request still unfinished).
/// </summary>
public abstract class HourlyRequestCountsTests(StoreKind kind) : AppTests
{
    private const long Hour = 3_600_000;

    // 10:30 on some day: the chart's hours run from 11:00 the day before to the current 10:00–11:00.
    private static readonly long Now = (DateTimeOffset.Parse("2026-11-26T10:30:00Z", System.Globalization.CultureInfo.InvariantCulture)).ToUnixTimeMilliseconds();

    private int _n;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind);
        await app.Store.Store.WriteAsync(c => c.Execute("INSERT INTO users (id, name, credits, created_at) VALUES ('u1', 'alice', 0, 0)"));
        return app;
    }

    /// <summary>Free requests (nothing for the credits audit to say) made at <paramref name="at"/>.</summary>
    private Task Made(long at, int count, string status = "succeeded") => App.Store.Store.WriteAsync(c =>
    {
        for (var i = 0; i < count; i++)
        {
            c.Execute(
                """
                INSERT INTO requests (id, user_id, kind, service, action, handler, status, inputs, prompt, params, create_qty, price, run, max_attempts, created_at, updated_at)
                VALUES (@id, 'u1', 'offer', 's', 'a', 'echo.render', @status, @inputs, 'p', @params, 1, 0, 1, 3, @at, @at)
                """,
                ("@id", $"r{_n++:D8}"), ("@status", status), ("@inputs", new Json("{}")), ("@params", new Json("{}")), ("@at", at));
        }
    });

    [Fact]
    public async Task CountsTheLast24ClockHoursOldestFirst()
    {
        var current = Now / Hour * Hour;
        await Made(current - 24 * Hour, 7);          // 10:00 the day before: too old.
        await Made(current - 23 * Hour, 2);          // 11:00 the day before: the first bar.
        await Made(current - 23 * Hour + 10, 1, "failed");
        await Made(current - 3 * Hour + 59 * 60_000, 4);
        await Made(current + 60_000, 3);             // 10:01: the current hour.
        await Made(current + 29 * 60_000, 1, "failed");

        var (total, failed) = new HourlyRequestCounts(App.Store.Store).Last(Now);

        Assert.Equal(24, total.Length);
        Assert.Equal((3, 1), (total[0], failed[0]));
        Assert.Equal((4, 0), (total[20], failed[20]));
        Assert.Equal((4, 1), (total[23], failed[23]));
        Assert.Equal(11, total.Sum());
        Assert.Equal(current - 23 * Hour, HourlyRequestCounts.FirstHourStart(Now));
    }

    [Fact]
    public async Task SettledHoursAreCountedOnceThenOnlyTheLastTwoHours()
    {
        var current = Now / Hour * Hour;
        await Made(current - 5 * Hour, 5);
        await Made(current - Hour + 1, 2);
        var counts = new HourlyRequestCounts(App.Store.Store);
        Assert.Equal(7, counts.Last(Now).Total.Sum());
        Assert.Equal(24, counts.HoursCountedLastLoad);

        // New requests in the current hour and the one before are counted at the next load;
        // one written into a settled hour is not (by design: such hours are done).
        await Made(current + 1, 1);
        await Made(current - Hour + 2, 1);
        await Made(current - 5 * Hour + 1, 1);
        var (total, _) = counts.Last(Now + 60_000);
        Assert.Equal(2, counts.HoursCountedLastLoad);
        Assert.Equal((5, 3, 1), (total[18], total[22], total[23]));

        // An hour later the window moves on: the oldest hour drops out, and 09:00–10:00 has
        // settled (counted once more, then kept).
        total = counts.Last(Now + Hour).Total;
        Assert.Equal(3, counts.HoursCountedLastLoad);
        Assert.Equal((5, 3, 1, 0), (total[17], total[21], total[22], total[23]));
        counts.Last(Now + Hour + 60_000);
        Assert.Equal(2, counts.HoursCountedLastLoad);

        // Another process counts everything afresh.
        Assert.Equal(10, new HourlyRequestCounts(App.Store.Store).Last(Now + Hour).Total.Sum());
    }

    [Fact]
    public async Task AnHourWithARequestStillUnfinishedIsCountedUntilItEnds()
    {
        var current = Now / Hour * Hour;
        await Made(current - 5 * Hour, 2);
        await Made(current - 8 * Hour, 1, "queued");
        var counts = new HourlyRequestCounts(App.Store.Store);
        var (total, failed) = counts.Last(Now);
        Assert.Equal((1, 0), (total[15], failed[15]));
        Assert.Equal(24, counts.HoursCountedLastLoad);
        // 02:00 is not kept while its request is queued: every load counts from there on.
        counts.Last(Now);
        Assert.Equal(9, counts.HoursCountedLastLoad);

        await App.Store.Store.WriteAsync(c => c.Execute("UPDATE requests SET status = 'failed' WHERE status = 'queued'"));
        (total, failed) = counts.Last(Now + 60_000);
        Assert.Equal((1, 1), (total[15], failed[15]));
        Assert.Equal(2, total[18]);
        Assert.Equal(9, counts.HoursCountedLastLoad);

        // Now that it ended, the hour is kept like the others.
        counts.Last(Now + 120_000);
        Assert.Equal(2, counts.HoursCountedLastLoad);
    }
}

public sealed class HourlyRequestCountsOnSqlite() : HourlyRequestCountsTests(StoreKind.Sqlite);

public sealed class HourlyRequestCountsOnPostgres() : HourlyRequestCountsTests(StoreKind.Postgres);
