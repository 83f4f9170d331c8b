using Switchboard.Config;
using Switchboard.Queue;
using Switchboard.Resources;
using Switchboard.Tests.QueueContract;
using Switchboard.Fairness;

namespace Switchboard.Tests.ResourceGates;

/// <summary>
/// What only the Redis lanes have: several executors' gates on one lane (each its own
/// connection), and the list an older build left (drained before the flows, or after them when
/// fairness is off).
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisFairLaneTests : IAsyncLifetime
{
    private RedisTestQueue _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisTestQueue.Open();

    public Task DisposeAsync() => _redis.DisposeAsync().AsTask();

    private static JobMessage Job(string? user = null) => new($"{Guid.NewGuid():N}", 1, "echo.render", user);

    private static ResourceSpec Spec() => new($"r{Guid.NewGuid():N}"[..10], 1, null, null, TimeSpan.FromDays(1), OnExhausted.Wait, 60);

    /// <summary>Wakes jobs one at a time through the gates in turn (a single slot, handed on through each woken job's reservation).</summary>
    private async Task<List<JobMessage>> WakeOneByOne(IReadOnlyList<IResourceGate> gates, ResourceSpec spec, JobMessage holder, int count)
    {
        var need = new ResourceNeed(spec, 0);
        var woken = new List<JobMessage>();
        for (var i = 0; i < count; i++)
        {
            var gate = gates[i % gates.Count];
            await gate.ReleaseAsync(need, holder, TimeSpan.FromMilliseconds(1));
            await gate.WakeAsync([spec]);
            var delivery = await QueueReads.ReadWithin(_redis.Queue, TimeSpan.FromSeconds(5)) ?? throw new InvalidOperationException($"nothing woken after {woken.Count}");
            await _redis.Queue.AckAsync(delivery);
            holder = delivery.Message;
            Assert.True((await gates[(i + 1) % gates.Count].TryAcquireAsync(need, holder)).Acquired); // reserved for it, seen by every gate
            woken.Add(holder);
        }
        return woken;
    }

    [Fact]
    public async Task TwoExecutorsGatesOnOneLaneStayFairAndLoseNothing()
    {
        await using var second = await RedisTestServer.Connect(_redis.Settings);
        IResourceGate[] gates = [new RedisResourceGate(_redis.Redis, _redis.Settings), new RedisResourceGate(second, _redis.Settings)];
        var spec = Spec();
        var need = new ResourceNeed(spec, 0);
        var holder = Job();
        Assert.True((await gates[0].TryAcquireAsync(need, holder)).Acquired);

        // Both park at once, each its user's backlog.
        var alice = Enumerable.Range(0, 300).Select(_ => Job("alice")).ToList();
        var bob = Enumerable.Range(0, 300).Select(_ => Job("bob")).ToList();
        await Task.WhenAll(
            Task.Run(async () => { foreach (var job in alice) await gates[0].ParkAsync(need, job); }),
            Task.Run(async () => { foreach (var job in bob) await gates[1].ParkAsync(need, job); }));
        var carol = Job("carol");
        await gates[1].ParkAsync(need, carol);
        Assert.Equal(3, (await gates[0].PositionAsync(need, carol))!.Value.Position);

        var woken = await WakeOneByOne(gates, spec, holder, 601);

        Assert.Equal(601, woken.Distinct().Count());
        Assert.Equal([alice[0], bob[0], carol], woken.Take(3));
        Assert.Equal(alice.Skip(1).Zip(bob.Skip(1)).SelectMany(p => new[] { p.First, p.Second }), woken.Skip(3));
        Assert.Equal(0, (await gates[1].StateAsync(spec)).Waiting);
        Assert.Null(await QueueReads.ReadWithin(_redis.Queue, TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task PassesAreLoweredBeforeTheyLeaveTheRangeDoublesHoldExactly()
    {
        // A budget of one credit a job lets 6,300 leave: a weight-1 flow's pass moves by
        // FairOrder.Scale (7.2e11) a turn, so its level's virtual time passes 2^52 on the way.
        var gate = new RedisResourceGate(_redis.Redis, _redis.Settings);
        var spec = new ResourceSpec($"r{Guid.NewGuid():N}"[..10], null, null, 6300, TimeSpan.FromDays(1), OnExhausted.Wait, 60);
        var need = new ResourceNeed(spec, 1);
        var backlog = Enumerable.Range(0, 6302).Select(_ => Job("alice")).ToList();
        foreach (var job in backlog)
        {
            await gate.ParkAsync(need, job);
        }
        for (var calls = 0; calls < 100 && (await gate.StateAsync(spec)).Waiting > 2; calls++)
        {
            await gate.WakeAsync([spec]);
        }
        var levels = _redis.Redis.GetDatabase().HashGetAll(_redis.Settings.Key($"res:{spec.Name}:fs")).ToDictionary(e => (string)e.Name!, e => (double)e.Value);
        Assert.InRange(levels["v5"], 0, 1L << 52);
        Assert.Equal(2, levels["c5"]);
        var pass = (double)(await _redis.Redis.GetDatabase().SortedSetScoreAsync(_redis.Settings.Key($"res:{spec.Name}:fz:5"), "alice"))!;
        Assert.Equal(levels["v5"] + FairOrder<JobMessage>.Scale, pass);

        // A user whose id holds the separators of the lane's entries.
        var odd = Job("b|o:b");
        await gate.ParkAsync(need, odd);
        Assert.Equal(1, (await gate.PositionAsync(need, odd))!.Value.Position);
        Assert.Equal(3, (await gate.PositionAsync(need, backlog[^1]))!.Value.Position);
        Assert.True(await gate.RemoveAsync(need, odd));
        Assert.Equal(2, (await gate.PositionAsync(need, backlog[^1]))!.Value.Position);
    }

    /// <summary>Puts a job in the list lane as a build before issue 22 did (its Park script).</summary>
    private async Task ParkAsBefore(ResourceSpec spec, JobMessage job)
    {
        var db = _redis.Redis.GetDatabase();
        await db.ListRightPushAsync(_redis.Settings.Key($"res:{spec.Name}:lane"), $"0|{job}|{job.Handler}");
        await db.SetAddAsync(_redis.Settings.Key($"res:{spec.Name}:parked"), job.ToString());
        await db.HashIncrementAsync(_redis.Settings.Key("held"), job.ToString());
        await db.SetAddAsync(_redis.Settings.Key("res:lanes"), spec.Name);
    }

    [Fact]
    public async Task AListLeftByAnOlderBuildLeavesFirst()
    {
        var gate = new RedisResourceGate(_redis.Redis, _redis.Settings);
        var spec = Spec();
        var need = new ResourceNeed(spec, 0);
        var holder = Job();
        Assert.True((await gate.TryAcquireAsync(need, holder)).Acquired);
        var before = new[] { Job(), Job() };
        foreach (var job in before)
        {
            await ParkAsBefore(spec, job);
        }
        var fair = Job("alice");
        await gate.ParkAsync(need, fair);

        Assert.Equal(2, (await gate.PositionAsync(need, before[1]))!.Value.Position);
        Assert.Equal(3, (await gate.PositionAsync(need, fair))!.Value.Position);
        Assert.Equal(GateWait.Lane, (await gate.TryAcquireAsync(need, Job())).Missing);
        Assert.Equal(3, (await gate.StateAsync(spec)).Waiting);
        Assert.Equal([before[0], before[1], fair], await WakeOneByOne([gate], spec, holder, 3));
    }

    [Fact]
    public async Task TurnedOffFairnessParksInTheListBehindTheFlowsLeftOver()
    {
        var fairGate = new RedisResourceGate(_redis.Redis, _redis.Settings);
        var fifoGate = new RedisResourceGate(_redis.Redis, _redis.Settings, fair: false);
        var spec = Spec();
        var need = new ResourceNeed(spec, 0);
        var holder = Job();
        Assert.True((await fifoGate.TryAcquireAsync(need, holder)).Acquired);
        var left = Job("alice");
        await fairGate.ParkAsync(need, left);
        var fifo = new[] { Job("bob"), Job("alice") };
        foreach (var job in fifo)
        {
            await fifoGate.ParkAsync(need, job);
        }

        Assert.Equal(1, (await fifoGate.PositionAsync(need, left))!.Value.Position);
        Assert.Equal(3, (await fifoGate.PositionAsync(need, fifo[1]))!.Value.Position);
        Assert.True(await fifoGate.RemoveAsync(need, fifo[0]));
        Assert.Equal(2, (await fifoGate.PositionAsync(need, fifo[1]))!.Value.Position);
        Assert.Equal([left, fifo[1]], await WakeOneByOne([fifoGate], spec, holder, 2));
    }
}
