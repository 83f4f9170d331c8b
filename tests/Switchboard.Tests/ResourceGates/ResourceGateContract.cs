using Switchboard.Config;
using Switchboard.Queue;
using Switchboard.Resources;
using Switchboard.Tests.QueueContract;
using Switchboard.Fairness;

namespace Switchboard.Tests.ResourceGates;

/// <summary>
/// What both resource gates promise: slots, rate and budget taken together or not at all;
/// parked jobs leave in the fair order (Fairness/FairOrder.cs: one user's at one priority first in
/// first out, users in weighted round-robin, higher priorities first, waiting levels aging up)
/// with their capacity reserved, and their positions say that order; slot leases expire unless
/// renewed. The same tests run on the in-process gate and on the Redis one.
/// </summary>
public abstract class ResourceGateContract : IAsyncLifetime
{
    protected IResourceGate Gate { get; private set; } = null!;

    protected IJobQueue Queue { get; private set; } = null!;

    protected abstract Task<(IResourceGate Gate, IJobQueue Queue)> Create();

    protected abstract Task DisposeGate();

    /// <summary>Another gate on the same lanes' store and queue, with its own fairness settings.</summary>
    protected abstract IResourceGate NewGate(bool fair, TimeSpan ageStep);

    public async Task InitializeAsync() => (Gate, Queue) = await Create();

    public Task DisposeAsync() => DisposeGate();

    private static ResourceSpec Spec(int? slots = null, int? rpm = null, long? credits = null, TimeSpan? period = null, int lease = 60) =>
        new($"r{Guid.NewGuid():N}"[..10], slots, rpm, credits, period ?? TimeSpan.FromDays(1), OnExhausted.Wait, lease);

    private static JobMessage Job() => new($"{Guid.NewGuid():N}", 1, "echo.render");

    private static JobMessage Job(string user, int priority = Priorities.Default, int weight = 1) =>
        new($"{Guid.NewGuid():N}", 1, "echo.render", user, priority, weight);

    /// <summary>
    /// Wakes <paramref name="count"/> jobs one at a time (a single slot, held by <paramref name="holder"/>
    /// and handed on to each woken job through its reservation): the lane's order, whatever order
    /// the queue then delivers in.
    /// </summary>
    private async Task<List<JobMessage>> WakeOneByOne(IResourceGate gate, ResourceSpec spec, JobMessage holder, int count)
    {
        var need = new ResourceNeed(spec, 0);
        var woken = new List<JobMessage>();
        for (var i = 0; i < count; i++)
        {
            await gate.ReleaseAsync(need, holder, TimeSpan.FromMilliseconds(1));
            await gate.WakeAsync([spec]);
            holder = await Delivered(TimeSpan.FromSeconds(5)) ?? throw new InvalidOperationException($"nothing woken after {woken.Count}");
            Assert.True((await gate.TryAcquireAsync(need, holder)).Acquired); // reserved for it
            woken.Add(holder);
        }
        return woken;
    }

    /// <summary>A single-slot resource whose slot is held (in <paramref name="gate"/>), and its need.</summary>
    private static async Task<(ResourceSpec Spec, ResourceNeed Need, JobMessage Holder)> Full(IResourceGate gate)
    {
        var spec = Spec(slots: 1);
        var need = new ResourceNeed(spec, 0);
        var holder = Job();
        Assert.True((await gate.TryAcquireAsync(need, holder)).Acquired);
        return (spec, need, holder);
    }

    private async Task<long> PositionOf(IResourceGate gate, ResourceNeed need, JobMessage job) =>
        (await gate.PositionAsync(need, job))?.Position ?? throw new InvalidOperationException($"{job} is not parked");

    private async Task<bool> Take(ResourceNeed need, JobMessage job) => (await Gate.TryAcquireAsync(need, job)).Acquired;

    private async Task<JobMessage?> Delivered(TimeSpan within)
    {
        if (await QueueReads.ReadWithin(Queue, within) is not { } delivery)
        {
            return null;
        }
        await Queue.AckAsync(delivery);
        return delivery.Message;
    }

    [Fact]
    public async Task SlotsAreLimitedAndReturnOnRelease()
    {
        var need = new ResourceNeed(Spec(slots: 2), 0);
        var (a, b, c) = (Job(), Job(), Job());

        Assert.True(await Take(need, a));
        Assert.True(await Take(need, b));
        Assert.Equal(GateWait.Slot, (await Gate.TryAcquireAsync(need, c)).Missing);
        await Gate.ReleaseAsync(need, a, TimeSpan.FromMilliseconds(5));
        Assert.True(await Take(need, c));
    }

    [Fact]
    public async Task AnExpiredSlotReturnsAndARenewedOneDoesNot()
    {
        var need = new ResourceNeed(Spec(slots: 1, lease: 1), 0);
        var (renewed, expired, waiting) = (Job(), Job(), Job());

        Assert.True(await Take(need, renewed));
        // Not a wait: 1.8 s renewed every 0.3 s, longer than the 1 s lease it must outlive.
        for (var i = 0; i < 6; i++)
        {
            await Task.Delay(300);
            await Gate.RenewAsync([(need, renewed)]);
        }
        Assert.False(await Take(need, waiting));

        await Gate.ReleaseAsync(need, renewed, TimeSpan.Zero);
        Assert.True(await Take(need, expired));
        // The bound is the lease (1 s) and a margin, as it was when this was a fixed sleep.
        await Wait.Until(() => Take(need, waiting), TimeSpan.FromMilliseconds(1300), "the expired slot to return");
    }

    [Fact]
    public async Task TheRateIsSmoothWithAtMostASecondOfBurst()
    {
        // 600 rpm: 10 at once (a second's worth), then one per 100 ms.
        var need = new ResourceNeed(Spec(rpm: 600), 0);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var taken = 0;
        GateAnswer answer;
        while ((answer = await Gate.TryAcquireAsync(need, Job())).Acquired && taken < 100)
        {
            taken++;
        }
        // Ten at once, plus one per 100 ms that the calls themselves took.
        Assert.InRange(taken, 10, 10 + (int)(clock.ElapsedMilliseconds / 100) + 1);
        Assert.InRange(answer.RetryAfter, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(100));
        Assert.Equal(GateWait.Rate, answer.Missing);
        await Wait.Until(() => Take(need, Job()), TimeSpan.FromMilliseconds(250), "the rate to let one more through");
    }

    [Fact]
    public async Task TheBudgetOfAPeriodIsNeverExceededAndRollsOver()
    {
        var need = new ResourceNeed(Spec(credits: 10, period: TimeSpan.FromSeconds(2)), 4);

        // The period is aligned to the clock: wait for the start of one so all three fall in it
        // (a time to reach, not a condition to poll).
        await Task.Delay(TimeSpan.FromMilliseconds(2000 - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() % 2000 + 50));
        Assert.True(await Take(need, Job()));
        Assert.True(await Take(need, Job()));
        var refused = await Gate.TryAcquireAsync(need, Job());
        Assert.False(refused.Acquired);
        Assert.Equal(GateWait.Budget, refused.Missing);
        Assert.InRange(refused.RetryAfter, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(2));
        Assert.NotNull(await Gate.ExhaustedAsync(need));

        await Wait.Until(() => Take(need, Job()), refused.RetryAfter + TimeSpan.FromMilliseconds(100), "the next period's budget");
    }

    [Fact]
    public async Task OneUsersJobsAtOnePriorityLeaveFirstInFirstOutWithCapacityReservedAndNewcomersQueueBehind()
    {
        var spec = Spec(slots: 1);
        var need = new ResourceNeed(spec, 0);
        var holder = Job();
        Assert.True(await Take(need, holder));
        var parked = Enumerable.Range(0, 3).Select(_ => Job("alice")).ToList();
        foreach (var job in parked)
        {
            Assert.False(await Take(need, job));
            await Gate.ParkAsync(need, job);
        }
        await Gate.ParkAsync(need, parked[0]); // parking twice changes nothing
        Assert.Equal(2, (await Gate.PositionAsync(need, parked[1]))!.Value.Position);
        Assert.Null(await Gate.PositionAsync(need, holder));
        Assert.Empty(await Queue.MissingAsync(parked)); // the lane holds a copy of each: recon leaves them

        Assert.NotNull(await Gate.WakeAsync([spec]));  // no capacity: nobody leaves, a time to look again
        Assert.Null(await Delivered(TimeSpan.FromMilliseconds(300)));

        await Gate.ReleaseAsync(need, holder, TimeSpan.FromMilliseconds(10));
        var newcomer = Job();
        Assert.Equal(GateWait.Lane, (await Gate.TryAcquireAsync(need, newcomer)).Missing); // the lane goes first
        await Gate.WakeAsync([spec]);
        Assert.Equal(parked[0], await Delivered(TimeSpan.FromSeconds(5)));
        Assert.Equal(1, (await Gate.PositionAsync(need, parked[1]))!.Value.Position);
        Assert.True(await Take(need, parked[0]));  // reserved for it
        Assert.False(await Take(need, newcomer));

        await Gate.ReleaseAsync(need, parked[0], TimeSpan.FromMilliseconds(10));
        await Gate.WakeAsync([spec]);
        Assert.Equal(parked[1], await Delivered(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task ALaneWhoseResourceLeftTheMapIsSentOnWhole()
    {
        var spec = Spec(slots: 1);
        var need = new ResourceNeed(spec, 0);
        Assert.True(await Take(need, Job()));
        var parked = new[] { Job("alice"), Job("alice") };
        foreach (var job in parked)
        {
            await Gate.ParkAsync(need, job);
        }

        Assert.Null(await Gate.WakeAsync([]));

        Assert.Equal(parked[0], await Delivered(TimeSpan.FromSeconds(5)));
        Assert.Equal(parked[1], await Delivered(TimeSpan.FromSeconds(5)));
        Assert.Null(await Gate.PositionAsync(need, parked[1]));
    }

    [Fact]
    public async Task ANewcomerLeavesWithinOneTurnOfAnotherUsersBacklog()
    {
        var (spec, need, holder) = await Full(Gate);
        var backlog = Enumerable.Range(0, 5000).Select(_ => Job("alice")).ToList();
        foreach (var job in backlog)
        {
            await Gate.ParkAsync(need, job);
        }
        var woken = await WakeOneByOne(Gate, spec, holder, 3);
        Assert.Equal(backlog.Take(3), woken);

        var bob = Job("bob");
        await Gate.ParkAsync(need, bob);
        Assert.Equal(5000 - 3 + 1, (await Gate.StateAsync(spec)).Waiting);
        // Alice has had three turns: Bob starts at the virtual time (her last turn's pass), one
        // turn of hers at most before him (here none: her next turn is past his).
        var position = await PositionOf(Gate, need, bob);
        Assert.InRange(position, 1, 2);
        woken = await WakeOneByOne(Gate, spec, woken[^1], 2);
        Assert.Equal(bob, woken[(int)position - 1]);
    }

    [Fact]
    public async Task WeightsGiveTurnsInProportionInEachCycle()
    {
        var (spec, need, holder) = await Full(Gate);
        var users = new Dictionary<JobMessage, string>();
        for (var i = 0; i < 20; i++)
        {
            foreach (var job in new[] { Job("alice", weight: 1), Job("bob", weight: 3) })
            {
                await Gate.ParkAsync(need, job);
                users[job] = job.UserId!;
            }
        }
        var woken = await WakeOneByOne(Gate, spec, holder, 24);
        // Each cycle of four turns: three of Bob's (weight 3), one of Alice's.
        Assert.All(woken.Select(j => users[j]).Chunk(4), cycle => Assert.Equal(["alice", "bob", "bob", "bob"], cycle));
    }

    [Fact]
    public async Task AHigherPriorityLeavesFirstAndAWaitingLevelAgesUp()
    {
        var gate = NewGate(fair: true, ageStep: TimeSpan.FromSeconds(1));
        var (spec, need, holder) = await Full(gate);
        var low = Job("alice", priority: 7);
        await gate.ParkAsync(need, low);
        var high = Enumerable.Range(0, 3).Select(_ => Job("bob", priority: 8)).ToList();
        foreach (var job in high)
        {
            await gate.ParkAsync(need, job);
        }
        Assert.Equal(4, await PositionOf(gate, need, low));
        // Served after the park (a later "since" for level 8 than for level 7).
        await Task.Delay(20);
        var woken = await WakeOneByOne(gate, spec, holder, 1);
        Assert.Equal(high[0], woken[0]);
        Assert.Equal(3, await PositionOf(gate, need, low));

        // Two age steps: level 7 counts as 9, level 8 at most 9 and waiting less (a time to reach, not a condition to poll).
        await Task.Delay(TimeSpan.FromMilliseconds(2100));
        Assert.Equal(1, await PositionOf(gate, need, low));
        woken = await WakeOneByOne(gate, spec, woken[0], 3);
        Assert.Equal([low, high[1], high[2]], woken);
    }

    [Fact]
    public async Task ACancelledJobLeavesTheLaneAndItsCopyIsDropped()
    {
        var (spec, need, holder) = await Full(Gate);
        var parked = new[] { Job("alice"), Job("alice"), Job("bob"), Job("alice") };
        foreach (var job in parked)
        {
            await Gate.ParkAsync(need, job);
        }
        Assert.True(await Gate.RemoveAsync(need, parked[1]));
        Assert.False(await Gate.RemoveAsync(need, parked[1]));
        Assert.True(await Gate.RemoveAsync(need, parked[2])); // Bob's only job: his flow goes
        Assert.Null(await Gate.PositionAsync(need, parked[1]));
        Assert.Equal(2, await PositionOf(Gate, need, parked[3]));
        Assert.Equal([parked[1], parked[2]], await Queue.MissingAsync(parked));
        Assert.Equal(2, (await Gate.StateAsync(spec)).Waiting);

        Assert.Equal([parked[0], parked[3]], await WakeOneByOne(Gate, spec, holder, 2));
        Assert.Null(await Delivered(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task PositionsAreTheOrderJobsLeaveIn()
    {
        var (spec, need, holder) = await Full(Gate);
        var parked = new List<JobMessage>();
        for (var i = 0; i < 8; i++)
        {
            parked.Add(Job("alice", weight: 1));
            parked.Add(Job("bob", weight: 2));
            parked.Add(Job("carol", weight: 3));
            parked.Add(Job("dave", priority: i % 2 == 0 ? 6 : 4, weight: 1));
        }
        foreach (var job in parked)
        {
            await Gate.ParkAsync(need, job);
        }
        var positions = new Dictionary<JobMessage, long>();
        foreach (var job in parked)
        {
            positions[job] = await PositionOf(Gate, need, job);
        }
        var woken = await WakeOneByOne(Gate, spec, holder, parked.Count);
        for (var i = 0; i < woken.Count; i++)
        {
            Assert.True(positions[woken[i]] == i + 1, $"{i + 1}th to leave said {positions[woken[i]]}");
        }
        // Dave's priority-6 jobs first; his priority-4 ones last.
        Assert.Equal(parked.Where(j => j.Priority == 6), woken.Take(4));
        Assert.Equal(parked.Where(j => j.Priority == 4), woken.TakeLast(4));
    }

    [Fact]
    public async Task UnfairLanesAreFirstInFirstOut()
    {
        var gate = NewGate(fair: false, ageStep: TimeSpan.FromSeconds(30));
        var (spec, need, holder) = await Full(gate);
        var parked = new[] { Job("alice", 1), Job("alice", 1), Job("bob", 9, 5), Job("carol", 5) };
        foreach (var job in parked)
        {
            await gate.ParkAsync(need, job);
        }
        Assert.Equal(3, await PositionOf(gate, need, parked[2]));
        Assert.Equal(parked, await WakeOneByOne(gate, spec, holder, 4));
    }

    [Fact]
    public async Task ALongLaneStaysFairPastManyTurns()
    {
        // A budget of one credit per job lets exactly that many leave; 6,300 weight-1 turns carry a
        // level's passes past 2^52, where the Redis lane lowers them (its numbers are doubles).
        var spec = Spec(credits: 6300);
        var need = new ResourceNeed(spec, 1);
        var backlog = Enumerable.Range(0, 6305).Select(_ => Job("alice")).ToList();
        foreach (var job in backlog)
        {
            await Gate.ParkAsync(need, job);
        }
        // The Redis gate wakes at most 256 a call.
        for (var calls = 0; calls < 100 && (await Gate.StateAsync(spec)).Waiting > 5; calls++)
        {
            await Gate.WakeAsync([spec]);
        }
        Assert.Equal(5, (await Gate.StateAsync(spec)).Waiting);

        var bob = Job("bob");
        await Gate.ParkAsync(need, bob);
        // Alice's next turn is one stride past the virtual time (her last turn's pass); Bob's is at it.
        Assert.Equal(1, await PositionOf(Gate, need, bob));
        Assert.Equal(2, await PositionOf(Gate, need, backlog[6300]));
        Assert.Equal(6, await PositionOf(Gate, need, backlog[^1]));
    }

    [Fact]
    public async Task TheStateShowsSlotsInUseJobsWaitingAndCreditsSpent()
    {
        var spec = Spec(slots: 3, credits: 100);
        var need = new ResourceNeed(spec, 4);
        Assert.Equal(0, (await Gate.StateAsync(spec)).InUse);

        Assert.True(await Take(need, Job()));
        Assert.True(await Take(need, Job()));
        await Gate.ParkAsync(need, Job());

        var state = await Gate.StateAsync(spec);
        Assert.Equal(2, state.InUse);
        Assert.Equal(1, state.Waiting);
        Assert.Equal(8, state.Spent);
        Assert.InRange(state.PeriodEnds, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1).AddSeconds(1));
    }

    [Fact]
    public async Task ExhaustedMeansSpentBudgetOrJobsAlreadyWaiting()
    {
        var spec = Spec(slots: 1);
        var need = new ResourceNeed(spec, 0);
        Assert.Null(await Gate.ExhaustedAsync(need));
        Assert.True(await Take(need, Job()));
        Assert.Null(await Gate.ExhaustedAsync(need)); // full, but nobody waits yet

        await Gate.ParkAsync(need, Job());
        Assert.NotNull(await Gate.ExhaustedAsync(need));
    }
}

public sealed class InProcessResourceGateTests : ResourceGateContract
{
    protected override Task<(IResourceGate, IJobQueue)> Create()
    {
        var queue = new InProcessJobQueue();
        return Task.FromResult<(IResourceGate, IJobQueue)>((new InProcessResourceGate(queue), queue));
    }

    protected override IResourceGate NewGate(bool fair, TimeSpan ageStep) => new InProcessResourceGate((InProcessJobQueue)Queue, fair, ageStep);

    protected override Task DisposeGate()
    {
        ((InProcessJobQueue)Queue).Dispose();
        return Task.CompletedTask;
    }
}

[Collection(RedisCollection.Name)]
public sealed class RedisResourceGateTests : ResourceGateContract
{
    private RedisTestQueue _redis = null!;

    protected override async Task<(IResourceGate, IJobQueue)> Create()
    {
        _redis = await RedisTestQueue.Open();
        return (new RedisResourceGate(_redis.Redis, _redis.Settings), _redis.Queue);
    }

    protected override Task DisposeGate() => _redis.DisposeAsync().AsTask();

    protected override IResourceGate NewGate(bool fair, TimeSpan ageStep) => new RedisResourceGate(_redis.Redis, _redis.Settings, fair, ageStep);

    /// <summary>Fail closed: with Redis gone, an acquisition is an error (the job waits), never a slot.</summary>
    [Fact]
    public async Task AnUnreachableRedisRefusesInsteadOfLettingJobsRunUnlimited()
    {
        var settings = RedisSettings.Parse($"127.0.0.1:{RedisTestServer.FreePort()}", "tdead");
        var options = settings.Options.Clone();
        options.ConnectTimeout = 500;
        options.AsyncTimeout = 500;
        await using var dead = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(options);
        var gate = new RedisResourceGate(dead, settings);
        var need = new ResourceNeed(new ResourceSpec("api", 1, null, null, TimeSpan.FromDays(1), OnExhausted.Wait, 60), 0);

        await Assert.ThrowsAnyAsync<StackExchange.Redis.RedisException>(async () => await gate.TryAcquireAsync(need, new JobMessage("x", 1, "echo.render")));
    }
}
