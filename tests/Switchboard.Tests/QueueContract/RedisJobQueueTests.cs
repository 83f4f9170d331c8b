using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Switchboard.Queue;

namespace Switchboard.Tests.QueueContract;

/// <summary>What only the Redis queue has to get right: consumers that die, a Redis that restarts empty or is not there.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisJobQueueTests : IAsyncLifetime
{
    private static readonly TimeSpan ReclaimAfter = TimeSpan.FromSeconds(1);

    private RedisQueues _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisQueues.Open();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    private RedisJobQueue NewQueue(string consumer, TimeSpan? reclaimAfter = null, ILogger<RedisJobQueue>? logger = null) =>
        _redis.NewQueue(consumer, reclaimAfter ?? ReclaimAfter, logger);

    private IDatabase Db => _redis.Db;

    private RedisSettings Settings => _redis.Settings;

    private static JobMessage Message() => new($"req_{Guid.NewGuid():N}", 1, "echo.render");

    private static Task<JobDelivery?> ReadWithin(IJobQueue queue, TimeSpan within) => QueueReads.ReadWithin(queue, within);

    [Fact]
    public async Task AnEntryReadByAConsumerThatDiesIsDeliveredToAnotherAfterTheReclaimTime()
    {
        var dying = NewQueue("dying");
        var message = Message();
        await dying.EnqueueAsync(message);
        await dying.FlushAsync();
        var lost = await ReadWithin(dying, TimeSpan.FromSeconds(5));
        Assert.Equal(message, lost?.Message);
        var readAt = Stopwatch.StartNew();
        await dying.DisposeAsync();

        var survivor = NewQueue("survivor");
        var again = await ReadWithin(survivor, TimeSpan.FromSeconds(5));

        Assert.Equal(message, again?.Message);
        Assert.InRange(readAt.Elapsed.TotalMilliseconds, ReclaimAfter.TotalMilliseconds - 50, 4000);
        Assert.Empty(await survivor.MissingAsync([message]));
        await survivor.AckAsync(again!);
        Assert.Equal([message], await survivor.MissingAsync([message]));
        Assert.Equal(0, await Db.StreamLengthAsync(Settings.Key("jobs:echo.render")));
    }

    [Fact]
    public async Task TouchingAnInFlightEntryKeepsItFromBeingReclaimed()
    {
        var busy = NewQueue("busy");
        var message = Message();
        await busy.EnqueueAsync(message);
        await busy.FlushAsync();
        var delivery = await ReadWithin(busy, TimeSpan.FromSeconds(5));
        Assert.NotNull(delivery);

        using var stopTouching = new CancellationTokenSource();
        // An executor's renewer, touching at its own pace: not a wait.
        var heartbeat = Task.Run(async () =>
        {
            while (!stopTouching.IsCancellationRequested)
            {
                await busy.TouchAsync([delivery]);
                await Task.Delay(ReclaimAfter / 4);
            }
        });
        var other = NewQueue("other");
        var stolen = await ReadWithin(other, 2.5 * ReclaimAfter);
        await stopTouching.CancelAsync();
        await heartbeat;

        Assert.Null(stolen);
        await busy.AckAsync(delivery);
        Assert.Equal([message], await busy.MissingAsync([message]));
    }

    [Fact]
    public async Task AfterEveryAckTheStreamIsEmpty()
    {
        var queue = NewQueue("worker");
        var messages = Enumerable.Range(0, 300).Select(_ => Message()).ToList();
        foreach (var message in messages)
        {
            await queue.EnqueueAsync(message);
        }
        queue.EnqueueLater(messages[0], TimeSpan.FromMilliseconds(100));
        await queue.FlushAsync();
        // Fair: they wait in their flow, not in the stream, until workers ask for them.
        Assert.Equal(300, await queue.DepthAsync());
        Assert.Equal(0, await Db.StreamLengthAsync(Settings.Key("jobs:echo.render")));

        for (var i = 0; i < 301; i++)
        {
            var delivery = await ReadWithin(queue, TimeSpan.FromSeconds(5));
            Assert.NotNull(delivery);
            await queue.AckAsync(delivery);
        }

        Assert.Equal(0, await Db.StreamLengthAsync(Settings.Key("jobs:echo.render")));
        Assert.Equal(0, await Db.SortedSetLengthAsync(Settings.Key("delayed:echo.render")));
        Assert.Equal(0, await Db.HashLengthAsync(Settings.Key("held")));
        Assert.Equal(0, await queue.DepthAsync());
        Assert.Equal(0, await Db.ListLengthAsync(Settings.Key("fair:echo.render:q:5:")));
        Assert.Equal(0, await Db.SortedSetLengthAsync(Settings.Key("fair:echo.render:lvl:5")));
        Assert.Equal(0, await Db.HashLengthAsync(Settings.Key("fair:echo.render:dmeta")));
    }

    [Fact]
    public async Task AfterRedisRestartsEmptyTheLostMessagesAreMissingAndTheQueueWorksAgain()
    {
        var queue = NewQueue("worker");
        var delivered = Message();
        var waiting = Message();
        await queue.EnqueueAsync(delivered);
        await queue.EnqueueAsync(waiting);
        await queue.FlushAsync();
        var inFlight = await ReadWithin(queue, TimeSpan.FromSeconds(5));
        Assert.Equal(delivered, inFlight?.Message);

        // As a Redis restarted without its data: the stream, the group and the counts are gone.
        // (Only this test's keys, not FLUSHALL: other suites may share the server.)
        await RedisTestServer.DeleteAllKeys(Settings);

        Assert.Equal([delivered, waiting], await queue.MissingAsync([delivered, waiting]));
        // The job that was running finishes: its ack finds nothing and must not count below zero.
        await queue.AckAsync(inFlight!);
        Assert.False(await Db.HashExistsAsync(Settings.Key("held"), delivered.ToString()));

        var again = Message();
        await queue.EnqueueAsync(again);
        await queue.FlushAsync();
        var delivery = await ReadWithin(queue, TimeSpan.FromSeconds(5));
        Assert.Equal(again, delivery?.Message);
        await queue.AckAsync(delivery!);
        Assert.Equal([again], await queue.MissingAsync([again]));
        Assert.Equal(0, await Db.StreamLengthAsync(Settings.Key("jobs:echo.render")));
    }

    [Fact]
    public async Task WhenRedisIsUnreachableEnqueueReturnsAtOnceAndWarnsOncePerOutage()
    {
        var settings = RedisSettings.Parse($"127.0.0.1:{RedisTestServer.FreePort()},connectTimeout=500", Settings.KeyPrefix);
        await using var unreachable = await RedisTestServer.Connect(settings);
        var logger = new CapturingLogger<RedisJobQueue>();
        await using var queue = new RedisJobQueue(unreachable, settings, "worker", ReclaimAfter, logger, RedisTestServer.FastOptions);

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 5000; i++)
        {
            await queue.EnqueueAsync(Message());
            if (i % 1000 == 0)
            {
                queue.EnqueueLater(Message(), TimeSpan.FromSeconds(1));
                await Task.Yield();
            }
        }
        Assert.InRange(clock.ElapsedMilliseconds, 0, 1000);

        await queue.FlushAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1, logger.Count(LogLevel.Warning));
        await Assert.ThrowsAnyAsync<RedisException>(async () => await queue.MissingAsync([Message()]));
        // A worker waiting on an unreachable Redis just waits; acks and touches never throw.
        Assert.Null(await ReadWithin(queue, TimeSpan.FromMilliseconds(300)));
        await queue.AckAsync(new JobDelivery(Message(), "1-0"));
        await queue.TouchAsync([new JobDelivery(Message(), "1-0")]);
    }

    [Fact]
    public async Task EntriesFetchedButNeverHandedOutGoBackOnDisposal()
    {
        var leaving = NewQueue("leaving", reclaimAfter: TimeSpan.FromMinutes(5));
        // A read that gives up leaves the fetch loop blocked for one entry, which then arrives.
        Assert.Null(await ReadWithin(leaving, TimeSpan.FromMilliseconds(100)));
        var message = Message();
        await leaving.EnqueueAsync(message);
        await leaving.FlushAsync();
        await Wait.ForValue(async () => await leaving.DepthAsync(), 0L, TimeSpan.FromSeconds(10), "the blocked fetch to take the entry (depth)");
        await leaving.DisposeAsync();

        var staying = NewQueue("staying", reclaimAfter: TimeSpan.FromMinutes(5));
        var delivery = await ReadWithin(staying, TimeSpan.FromSeconds(3));

        Assert.Equal(message, delivery?.Message);
        await staying.AckAsync(delivery!);
        Assert.Equal([message], await staying.MissingAsync([message]));
    }

    [Fact]
    public async Task AConsumerFetchesNoMoreThanItsWaitingWorkers()
    {
        var first = NewQueue("first", reclaimAfter: TimeSpan.FromMinutes(5));
        var messages = Enumerable.Range(0, 10).Select(_ => Message()).ToList();
        foreach (var message in messages)
        {
            await first.EnqueueAsync(message);
        }
        await first.FlushAsync();

        var one = await ReadWithin(first, TimeSpan.FromSeconds(5));
        Assert.NotNull(one);
        // Not a wait: time for a greedy consumer to fetch more, which it must NOT do.
        await Task.Delay(300);

        // The other nine are still there for another executor.
        Assert.Equal(9, await first.DepthAsync());
        var second = NewQueue("second", reclaimAfter: TimeSpan.FromMinutes(5));
        for (var i = 0; i < 9; i++)
        {
            var delivery = await ReadWithin(second, TimeSpan.FromSeconds(5));
            Assert.NotNull(delivery);
            await second.AckAsync(delivery);
        }
        await first.AckAsync(one);
        Assert.Equal(messages.Count, (await first.MissingAsync(messages)).Count);
    }

    [Fact]
    public async Task ThousandsOfMessagesASecondAreSentInBatches()
    {
        var queue = NewQueue("worker");
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 20_000; i++)
        {
            await queue.EnqueueAsync(new JobMessage($"req_{i:D6}", 1, "echo.render"));
        }
        await queue.FlushAsync();

        Assert.InRange(clock.ElapsedMilliseconds, 0, 5000);
        Assert.Equal(20_000, await queue.DepthAsync());
        Assert.Empty(await queue.MissingAsync([.. Enumerable.Range(0, 20_000).Select(i => new JobMessage($"req_{i:D6}", 1, "echo.render"))]));
    }
}
