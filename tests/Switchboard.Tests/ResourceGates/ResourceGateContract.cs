using Switchboard.Config;
using Switchboard.Queue;
using Switchboard.Resources;
using Switchboard.Tests.QueueContract;

namespace Switchboard.Tests.ResourceGates;

/// <summary>
/// What both resource gates promise: slots, rate and budget taken together or not at all;
/// parked jobs leave in their order with their capacity reserved; slot leases expire unless
/// renewed. The same tests run on the in-process gate and on the Redis one.
/// </summary>
public abstract class ResourceGateContract : IAsyncLifetime
{
    protected IResourceGate Gate { get; private set; } = null!;

    protected IJobQueue Queue { get; private set; } = null!;

    protected abstract Task<(IResourceGate Gate, IJobQueue Queue)> Create();

    protected abstract Task DisposeGate();

    public async Task InitializeAsync() => (Gate, Queue) = await Create();

    public Task DisposeAsync() => DisposeGate();

    private static ResourceSpec Spec(int? slots = null, int? rpm = null, long? credits = null, TimeSpan? period = null, int lease = 60) =>
        new($"r{Guid.NewGuid():N}"[..10], slots, rpm, credits, period ?? TimeSpan.FromDays(1), OnExhausted.Wait, lease);

    private static JobMessage Job() => new($"{Guid.NewGuid():N}", 1, "echo.render");

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
    public async Task ParkedJobsLeaveInTheirOrderWithCapacityReservedAndNewcomersQueueBehind()
    {
        var spec = Spec(slots: 1);
        var need = new ResourceNeed(spec, 0);
        var holder = Job();
        Assert.True(await Take(need, holder));
        var parked = Enumerable.Range(0, 3).Select(_ => Job()).ToList();
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
        var parked = new[] { Job(), Job() };
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
