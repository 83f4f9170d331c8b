using Switchboard.Recon;

namespace Switchboard.Tests.Recon;

/// <summary>The alerts the recon reports to the store, read back as another process would.</summary>
public abstract class AlertBoardTests(StoreKind kind) : AppTests
{
    private static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(1);
    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(kind);

    private Task Publish(long now, params FiringAlert[] firing) => App.Store.Store.WriteAsync(c => AlertBoard.Publish(c, firing, now));

    private AlertReport? Read(long now) => App.Store.Query(c => AlertBoard.Read(c, now, StaleAfter));

    [Fact]
    public void BeforeAnyReportThereIsNothingToShow() => Assert.Null(Read(1_000));

    [Fact]
    public async Task EachReportReplacesTheLastOldestFirst()
    {
        var queued = new FiringAlert("oldest_queued", "openai.chat", "1 queued for 400 s", 2_000);
        var noExecutor = new FiringAlert("no_executor_for_handler", "echo.render", "3 queued requests", 1_000);
        await Publish(5_000, queued, noExecutor);

        var report = Read(6_000)!;
        Assert.Equal([noExecutor, queued], report.Firing);
        Assert.Equal(5_000, report.ReportedAtMs);
        Assert.False(report.Stale);

        await Publish(9_000, queued);
        Assert.Equal([queued], Read(9_000)!.Firing);
        await Publish(12_000);
        Assert.Empty(Read(12_000)!.Firing);
    }

    [Fact]
    public async Task AReportOlderThanAMinuteIsStale()
    {
        await Publish(10_000, new FiringAlert("budget", "api", "95 % of the period's credits", 9_000));
        Assert.False(Read(10_000 + 60_000)!.Stale);
        var old = Read(10_000 + 60_001)!;
        Assert.True(old.Stale);
        Assert.Single(old.Firing);
    }
}

public sealed class AlertBoardOnSqlite() : AlertBoardTests(StoreKind.Sqlite);

public sealed class AlertBoardOnPostgres() : AlertBoardTests(StoreKind.Postgres);
