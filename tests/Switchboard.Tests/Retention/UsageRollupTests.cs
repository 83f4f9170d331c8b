using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Lifecycle;
using Switchboard.Retention;
using Switchboard.Usage;

namespace Switchboard.Tests.Retention;

/// <summary>
/// Usage minutes rolled up into days after their retention, days deleted after theirs: the
/// totals of the <c>usage</c> command and the admin API are the same before and after a roll-up
/// (a range that starts inside a rolled-up day counts it whole, and says so), a second pass
/// changes nothing, and minutes flushed late into a rolled-up day are added to it. On SQLite
/// and PostgreSQL, a pass run as of a later time.
/// </summary>
public abstract class UsageRollupTests(StoreKind kind) : AppTests
{
    private const long Day = 86_400_000;

    private string _alice = "", _bob = "";
    private long _now;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, RetentionTests.NoTimedPasses);
        (_alice, _) = await Infrastructure.Cli.CreateUser(app.Store, "alice", 0);
        (_bob, _) = await Infrastructure.Cli.CreateUser(app.Store, "bob", 0);
        // Noon, so "a day ago" and "20 days ago" are the middle of their days.
        _now = UsageRollup.DayOf(Clock.NowMs()) - Day + Day / 2;
        return app;
    }

    private async Task Record(params (string User, string Handler, bool Failed, int LatencyMs, long At)[] calls)
    {
        var recorder = new UsageRecorder();
        foreach (var (user, handler, failed, latency, at) in calls)
        {
            recorder.Record(handler == "openai.chat" ? "gpu" : null, handler, user, 10, 20, failed, TimeSpan.FromMilliseconds(latency), DateTimeOffset.FromUnixTimeMilliseconds(at));
        }
        var flusher = new UsageFlusher(recorder, App.Store.Store, Options.Create(new SwitchboardOptions()), NullLogger<UsageFlusher>.Instance);
        Assert.True(await flusher.FlushAsync());
    }

    private string Totals(long since, string? user = null, bool perMinute = false) => string.Join("\n", App.Query(c =>
        UsageQuery.Totals(c, new UsageFilter(since, UserId: user, PerMinute: perMinute))
            .Select(r => $"{(r.Minute is { } m ? Clock.Iso(m) + (r.Daily ? " day" : " minute") + " " : "")}{r.Resource} {r.Handler} calls={r.Calls} i={r.IntegrationCredits} u={r.UserCredits} errors={r.Errors} sum={r.LatencySumMs} max={r.LatencyMaxMs}")));

    private long Count(string table) => App.Query(c => c.Scalar<long>($"SELECT COUNT(*) FROM {table}"));

    private Task<RetentionPass> PassAt(long now) => App.Services.GetRequiredService<RetentionService>().RunOnceAsync(now);

    [Fact]
    public async Task TotalsAreTheSameBeforeAndAfterTheRollUp()
    {
        var old = _now - 20 * Day;
        await Record(
            (_alice, "openai.chat", false, 100, old), (_alice, "openai.chat", true, 300, old + 60_000), (_bob, "openai.chat", false, 50, old + 7_200_000),
            (_alice, "echo.render", false, 5, old - Day), (_bob, "echo.render", false, 9, _now - 15 * Day),
            (_alice, "openai.chat", false, 700, _now - Day), (_bob, "echo.render", true, 1, _now - 60_000));
        var since = UsageRollup.DayOf(_now - 30 * Day);
        var before = (All: Totals(since), Alice: Totals(since, _alice), Bob: Totals(since, _bob));
        Assert.Equal(7, Count("usage_minutes"));

        var pass = await PassAt(_now);

        Assert.Equal(3, pass.UsageDaysRolled);
        Assert.Equal(5, pass.UsageMinutesRolledUp);
        Assert.Equal(2, Count("usage_minutes"));
        Assert.Equal(4, Count("usage_days"));
        Assert.Equal(before, (Totals(since), Totals(since, _alice), Totals(since, _bob)));
        Assert.Contains("calls=3 i=30 u=60 errors=1 sum=450 max=300", Totals(old - 3_600_000, perMinute: true));
        Assert.Contains($"{Clock.Iso(UsageRollup.DayOf(old))} day gpu openai.chat calls=3", Totals(since, perMinute: true));
        var again = await PassAt(_now);
        Assert.Equal(new RetentionPass(0, 0, 0, PruneCounts.None), again);
        Assert.Equal(before, (Totals(since), Totals(since, _alice), Totals(since, _bob)));
    }

    [Fact]
    public async Task MinutesFlushedLateIntoARolledUpDayAreAddedToIt()
    {
        var old = _now - 20 * Day;
        await Record((_alice, "openai.chat", false, 100, old));
        await PassAt(_now);
        await Record((_alice, "openai.chat", false, 900, old + 60_000));
        Assert.Equal(1, Count("usage_minutes"));

        await PassAt(_now);

        Assert.Equal(0, Count("usage_minutes"));
        Assert.Equal($"{Clock.Iso(UsageRollup.DayOf(old))} day gpu openai.chat calls=2 i=20 u=40 errors=0 sum=1000 max=900", Totals(old - Day, perMinute: true));
    }

    [Fact]
    public async Task ARollUpCutShortLeavesTheMinutesAsTheyWere()
    {
        var old = _now - 20 * Day;
        await Record((_alice, "openai.chat", false, 100, old), (_bob, "openai.chat", true, 300, old + 60_000));
        var before = Totals(old - Day);

        // The unit dies after moving the day (a kill -9 before COMMIT is the same to the store: the transaction never commits).
        var cut = await Assert.ThrowsAsync<InvalidOperationException>(() => App.Store.Store.WriteAsync<int>(c =>
        {
            Assert.Equal(2, UsageRollup.RollDay(c, App.Store.Kind, UsageRollup.DayOf(old)));
            throw new InvalidOperationException("cut short");
        }));

        Assert.Equal("cut short", cut.Message);
        Assert.Equal(2, Count("usage_minutes"));
        Assert.Equal(0, Count("usage_days"));
        Assert.Equal(before, Totals(old - Day));
        await PassAt(_now);
        Assert.Equal((0L, 2L), (Count("usage_minutes"), Count("usage_days")));
        Assert.Equal(before, Totals(old - Day));
    }

    [Fact]
    public async Task DaysPastTheirRetentionAreDeleted()
    {
        await Record((_alice, "openai.chat", false, 100, _now - 20 * Day), (_alice, "openai.chat", false, 100, _now - 10 * Day));
        await PassAt(_now + 700 * Day);
        Assert.Equal(2, Count("usage_days"));

        var pass = await PassAt(_now + 715 * Day);

        Assert.Equal(1, pass.UsageDaysDeleted);
        Assert.Equal(1, Count("usage_days"));
    }

    [Fact]
    public async Task TheAdminApiSaysWhereTotalsArePerDay()
    {
        var admin = await App.AddAdminAsync();
        var now = Clock.NowMs();
        await Record((_alice, "openai.chat", false, 100, now - 20 * Day), (_alice, "openai.chat", false, 100, now - 60_000));
        var minutes = await admin.Client.GetFromJsonAsync<JsonObject>("/admin/api/usage?since=30d");
        Assert.Equal("minute", minutes!["granularity"]!.GetValue<string>());

        await PassAt(now);
        var days = await admin.Client.GetFromJsonAsync<JsonObject>("/admin/api/usage?since=30d");
        var fromDayStart = await admin.Client.GetFromJsonAsync<JsonObject>("/admin/api/usage?since=20d");

        Assert.Equal("day", days!["granularity"]!.GetValue<string>());
        Assert.Equal(Clock.Iso(UsageRollup.DayOf(now - 20 * Day) + Day), days["minutes_from"]!.GetValue<string>());
        Assert.Equal(minutes["rows"]!.ToJsonString().Replace("}", ",\"granularity\":\"day\"}"), days["rows"]!.ToJsonString());
        // 20 days ago is inside the rolled-up day: it counts whole, from its start.
        Assert.Equal(Clock.Iso(UsageRollup.DayOf(now - 20 * Day)), fromDayStart!["since"]!.GetValue<string>());
        Assert.Equal(2, fromDayStart["rows"]![0]!["calls"]!.GetValue<long>());
    }
}

public sealed class UsageRollupTestsOnSqlite() : UsageRollupTests(StoreKind.Sqlite);

public sealed class UsageRollupTestsOnPostgres() : UsageRollupTests(StoreKind.Postgres);
