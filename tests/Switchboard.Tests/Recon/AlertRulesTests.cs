using Switchboard.Config;
using Switchboard.Recon;

namespace Switchboard.Tests.Recon;

/// <summary>What makes each alert's condition true, per subject, from a health snapshot.</summary>
public sealed class AlertRulesTests
{
    private static readonly AlertThresholds T = AlertThresholds.Defaults;

    private static HealthSnapshot Snapshot(
        IReadOnlyList<ExecutorInfo>? executors = null, IReadOnlyList<QueueInfo>? queues = null, IReadOnlyList<DependencyInfo>? dependencies = null,
        IReadOnlyList<ResourceHealth>? resources = null, IReadOnlyList<HandlerErrors>? errors = null) =>
        new(0, executors ?? [], queues ?? [], [], dependencies ?? [new DependencyInfo("store", true, 0.001, null, null)], resources ?? [], errors ?? [], T.ErrorRateWindow);

    private static ExecutorInfo Runs(params string[] handlers) => new("e1", handlers, "1.0", 4, 0, null, 0, false);

    [Fact]
    public void QueuedWorkWithoutAnExecutorForItsHandlerIsNoExecutorAfterItsDuration()
    {
        var conditions = AlertRules.Check(Snapshot([Runs("echo.render")], [new QueueInfo("openai.chat", 3, 1), new QueueInfo("echo.render", 2, 1)]), T, 0);
        var alert = Assert.Single(conditions);
        Assert.Equal((AlertRules.NoExecutor, "openai.chat"), (alert.Alert, alert.Subject));
        Assert.Equal(T.NoExecutor, alert.For);
    }

    [Fact]
    public void AnUnreadableRegistryIsNotNoExecutor()
    {
        var snapshot = Snapshot(queues: [new QueueInfo("openai.chat", 3, 1)]) with { Executors = null };
        Assert.Empty(AlertRules.Check(snapshot, T, 0));
    }

    [Fact]
    public void TheOldestQueuedRequestOverItsThresholdFiresPerHandler()
    {
        var conditions = AlertRules.Check(Snapshot([Runs("a", "b")], [new QueueInfo("a", 1, 301), new QueueInfo("b", 9, 299)]), T, 0);
        Assert.Equal([(AlertRules.OldestQueued, "a")], conditions.Select(c => (c.Alert, c.Subject)));
    }

    [Fact]
    public void AnErrorRateOverItsPercentFiresOnceThereAreEnoughCalls()
    {
        var conditions = AlertRules.Check(Snapshot(errors: [new HandlerErrors("a", 100, 21), new HandlerErrors("b", 100, 20), new HandlerErrors("c", 5, 5)]), T, 0);
        var alert = Assert.Single(conditions);
        Assert.Equal((AlertRules.ErrorRate, "a"), (alert.Alert, alert.Subject));
        Assert.Contains("21 of 100 calls (21%)", alert.Summary);
    }

    [Fact]
    public void ABudgetUsedOverItsPercentFires()
    {
        var conditions = AlertRules.Check(Snapshot(resources:
            [new ResourceHealth("openai", 1000, 950, 0.95, 0, 0, 0), new ResourceHealth("other", 1000, 10, 0.01, 0, 0, 0), new ResourceHealth("free", null, 5, null, 0, 0, 0)]), T, 0);
        Assert.Equal([(AlertRules.Budget, "openai")], conditions.Select(c => (c.Alert, c.Subject)));
    }

    [Fact]
    public void AnUnreachableDependencyFiresAfterItsDuration()
    {
        var conditions = AlertRules.Check(Snapshot(dependencies:
            [new DependencyInfo("store", true, 0.001, null, null), new DependencyInfo("redis", false, 5, 0, "RedisConnectionException: refused")]), T, 0);
        var alert = Assert.Single(conditions);
        Assert.Equal((AlertRules.Unreachable, "redis", T.Unreachable), (alert.Alert, alert.Subject, alert.For));
    }

    [Fact]
    public void RepairsOverTheirRateFire()
    {
        Assert.Empty(AlertRules.Check(Snapshot(), T, T.RepairsPerMinute));
        Assert.Equal((AlertRules.Repairs, "recon"), AlertRules.Check(Snapshot(), T, T.RepairsPerMinute + 1).Select(c => (c.Alert, c.Subject)).Single());
    }

    [Fact]
    public void RepairsAreCountedOverTheLastMinute()
    {
        var repairs = new ReconRepairs();
        var before = global::Switchboard.Observability.SwitchboardMetrics.ReconRepairs.WithLabels(ReconRepairs.Dispatched).Value;
        repairs.Record(ReconRepairs.Dispatched, 3);
        repairs.Record(ReconRepairs.Requeued);
        Assert.Equal(4, repairs.LastMinute());
        Assert.True(global::Switchboard.Observability.SwitchboardMetrics.ReconRepairs.WithLabels(ReconRepairs.Dispatched).Value >= before + 3);
    }
}

/// <summary>Recon's repairs counted by kind, through a whole serve process.</summary>
public sealed class ReconRepairMetricsTests : AppTests
{
    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(StoreKind.Sqlite);

    [Fact]
    public async Task AnExpiredResultIsCountedAsARepair()
    {
        await App.ApplyCatalogAsync(TestCatalogs.FreeEchoSay);
        var client = (await App.AddUserAsync("alice", 10)).Client;
        var response = await client.PostAsJsonAsync("/svc/echo/say/", new { n = 1 });
        var id = await SwitchboardFactory.IdOf(response);
        await SwitchboardFactory.WaitFor(client, id, TimeSpan.FromSeconds(10), "succeeded");
        var before = global::Switchboard.Observability.SwitchboardMetrics.ReconRepairs.WithLabels(ReconRepairs.Expired).Value;

        App.Store.Query(c => c.Execute("UPDATE requests SET expires_at = 1 WHERE id = @id", ("@id", id)));
        await SwitchboardFactory.WaitFor(client, id, TimeSpan.FromSeconds(5), "expired");
        // Recon counts the repair after its write commits: the request can read "expired" a moment before.
        await Wait.Until(() => global::Switchboard.Observability.SwitchboardMetrics.ReconRepairs.WithLabels(ReconRepairs.Expired).Value >= before + 1,
            TimeSpan.FromSeconds(5), "recon to count the expired result as a repair");
    }
}
