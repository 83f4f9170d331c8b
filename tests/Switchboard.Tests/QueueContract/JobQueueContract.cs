using System.Diagnostics;
using Switchboard.Queue;

namespace Switchboard.Tests.QueueContract;

/// <summary>
/// What every <see cref="IJobQueue"/> promises, run against each implementation: messages are
/// delivered and acked, and the queue counts every copy it holds (waiting, delayed, delivered
/// and not acked), which is what recon's repair of lost messages relies on.
/// </summary>
public abstract class JobQueueContract : IAsyncLifetime
{
    protected IJobQueue Queue { get; private set; } = null!;

    /// <summary>A fresh, empty queue for one test.</summary>
    protected abstract Task<IJobQueue> CreateQueue();

    /// <summary>Waits until what was enqueued is in the queue (the Redis queue sends in the background).</summary>
    protected abstract Task Sent();

    protected abstract Task DisposeQueue();

    public async Task InitializeAsync() => Queue = await CreateQueue();

    public Task DisposeAsync() => DisposeQueue();

    protected static JobMessage Message(int run = 1) => new($"req_{Guid.NewGuid():N}", run, "echo.render");

    protected Task<JobDelivery?> ReadWithin(TimeSpan within) => QueueReads.ReadWithin(Queue, within);

    protected async Task<JobDelivery> Read() =>
        await ReadWithin(TimeSpan.FromSeconds(5)) ?? throw new Xunit.Sdk.XunitException("no message within 5 s");

    private async Task<bool> IsMissing(JobMessage message) => (await Queue.MissingAsync([message])).Contains(message);

    [Fact]
    public async Task AnEnqueuedMessageIsReadAndOnceAckedNoLongerHeld()
    {
        var message = Message();
        await Queue.EnqueueAsync(message);
        await Sent();

        var delivery = await Read();
        Assert.Equal(message, delivery.Message);
        await Queue.AckAsync(delivery);

        Assert.True(await IsMissing(message));
        Assert.Equal(0, await Queue.DepthAsync());
        Assert.Null(await ReadWithin(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task EveryCopyIsCountedWhileWaitingAndWhileDeliveredUntilItsAck()
    {
        var message = Message();
        Assert.True(await IsMissing(message));

        await Queue.EnqueueAsync(message);
        await Queue.EnqueueAsync(message);
        await Sent();
        Assert.False(await IsMissing(message));
        Assert.Equal(2, await Queue.DepthAsync());

        var first = await Read();
        var second = await Read();
        Assert.Equal(message, first.Message);
        Assert.Equal(message, second.Message);
        Assert.Equal(0, await Queue.DepthAsync());
        Assert.False(await IsMissing(message));

        await Queue.AckAsync(first);
        Assert.False(await IsMissing(message));
        await Queue.AckAsync(second);
        Assert.True(await IsMissing(message));
    }

    [Fact]
    public async Task MissingNamesExactlyTheCandidatesWithoutACopy()
    {
        var candidates = Enumerable.Range(0, 2500).Select(i => Message(i % 3 + 1)).ToList();
        var held = new[] { candidates[0], candidates[1234], candidates[2499] };
        foreach (var message in held)
        {
            await Queue.EnqueueAsync(message);
        }
        await Sent();

        var missing = await Queue.MissingAsync(candidates);

        Assert.Equal(candidates.Except(held).ToList(), missing);
    }

    [Fact]
    public async Task ADelayedMessageIsHeldAtOnceButDeliveredOnlyAfterItsDelay()
    {
        var message = Message(2);
        var clock = Stopwatch.StartNew();
        Queue.EnqueueLater(message, TimeSpan.FromMilliseconds(800));
        await Sent();

        Assert.False(await IsMissing(message));
        Assert.Equal(0, await Queue.DepthAsync());

        // A worker waits from well before the message is due: it gets it only once due.
        var delivery = await Read();
        Assert.Equal(message, delivery.Message);
        Assert.InRange(clock.Elapsed.TotalMilliseconds, 790, 5000);
        await Queue.AckAsync(delivery);
        Assert.True(await IsMissing(message));
    }

    [Fact]
    public async Task TwoDelayedCopiesAreTwoCopies()
    {
        var message = Message();
        Queue.EnqueueLater(message, TimeSpan.FromMilliseconds(100));
        Queue.EnqueueLater(message, TimeSpan.FromMilliseconds(150));
        await Sent();

        var first = await Read();
        var second = await Read();
        await Queue.AckAsync(first);
        Assert.False(await IsMissing(message));
        await Queue.AckAsync(second);
        Assert.True(await IsMissing(message));
    }

    [Fact]
    public async Task DepthCountsOnlyMessagesWaitingForDelivery()
    {
        await Queue.EnqueueAsync(Message());
        await Queue.EnqueueAsync(Message());
        await Queue.EnqueueAsync(Message());
        Queue.EnqueueLater(Message(), TimeSpan.FromMinutes(1));
        await Sent();
        Assert.Equal(3, await Queue.DepthAsync());

        var delivery = await Read();
        Assert.Equal(2, await Queue.DepthAsync());
        await Queue.AckAsync(delivery);
        Assert.Equal(2, await Queue.DepthAsync());
    }

    [Fact]
    public async Task ManyMessagesReadByConcurrentWorkersAreEachDeliveredOnce()
    {
        var messages = Enumerable.Range(0, 2000).Select(_ => Message()).ToList();
        foreach (var message in messages)
        {
            await Queue.EnqueueAsync(message);
        }
        await Sent();

        var delivered = new System.Collections.Concurrent.ConcurrentBag<JobMessage>();
        var workers = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            while (await ReadWithin(TimeSpan.FromMilliseconds(1500)) is { } delivery)
            {
                delivered.Add(delivery.Message);
                await Queue.AckAsync(delivery);
            }
        }));
        await Task.WhenAll(workers);

        Assert.Equal(messages.Count, delivered.Count);
        Assert.Equal(messages.ToHashSet(), delivered.ToHashSet());
        Assert.Equal(messages.Count, (await Queue.MissingAsync(messages)).Count);
        Assert.Equal(0, await Queue.DepthAsync());
    }
}

/// <summary>The embedded default.</summary>
public sealed class InProcessJobQueueContractTests : JobQueueContract
{
    protected override Task<IJobQueue> CreateQueue() => Task.FromResult<IJobQueue>(new InProcessJobQueue());

    protected override Task Sent() => Task.CompletedTask;

    protected override Task DisposeQueue()
    {
        ((InProcessJobQueue)Queue).Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>The distributed deployment's queue, on the suite's Redis.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisJobQueueContractTests : JobQueueContract
{
    private RedisTestQueue _redis = null!;

    protected override async Task<IJobQueue> CreateQueue() => (_redis = await RedisTestQueue.Open()).Queue;

    protected override Task Sent() => _redis.Queue.FlushAsync();

    protected override Task DisposeQueue() => _redis.DisposeAsync().AsTask();
}
