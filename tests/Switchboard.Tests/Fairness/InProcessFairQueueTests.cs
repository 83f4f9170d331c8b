using Switchboard.Fairness;
using Switchboard.Queue;

namespace Switchboard.Tests.Fairness;

/// <summary>
/// The embedded queue around its fair order (Queue/InProcessJobQueue.cs): positions from the
/// order, a retry back at the head of its flow, readers that wait, give up when cancelled
/// without losing a message, and end when the queue is disposed.
/// </summary>
public sealed class InProcessFairQueueTests
{
    private static JobMessage Job(string user, int n, int priority = Priorities.Default, int weight = 1) =>
        new($"{user}-{n}", 1, "echo.render", user, priority, weight);

    private static async Task<List<string>> Drain(InProcessJobQueue queue)
    {
        var ids = new List<string>();
        while (await queue.DepthAsync() > 0)
        {
            var delivery = await queue.ReadAsync(CancellationToken.None);
            ids.Add(delivery.Message.RequestId);
            await queue.AckAsync(delivery);
        }
        return ids;
    }

    [Fact]
    public async Task AJobALaneWokeGoesBeforeTheFairOrderAndIsCountedOnce()
    {
        using var queue = new InProcessJobQueue();
        for (var i = 0; i < 3; i++)
        {
            await queue.EnqueueAsync(Job("alice", i, priority: Priorities.Max));
        }
        // Bob's job holds a slot the lane reserved for it: it must not wait behind Alice's turns.
        queue.EnqueueWoken(Job("bob", 0, priority: Priorities.Min));
        Assert.Equal(4, await queue.DepthAsync());
        Assert.Equal(["bob-0", "alice-0", "alice-1", "alice-2"], await Drain(queue));
        Assert.Empty(await queue.MissingAsync([]));
        Assert.Equal([Job("bob", 0)], await queue.MissingAsync([Job("bob", 0)]));
    }

    [Fact]
    public async Task PositionsAreTheFairOrdersAndNullOnceTaken()
    {
        using var queue = new InProcessJobQueue();
        for (var i = 0; i < 100; i++)
        {
            await queue.EnqueueAsync(Job("alice", i));
        }
        await queue.EnqueueAsync(Job("bob", 0));
        Assert.Equal(1, await queue.PositionAsync(Job("bob", 0)));
        Assert.Equal(0, await queue.PositionAsync(Job("alice", 0)));
        Assert.Equal(100, await queue.PositionAsync(Job("alice", 99)));

        var first = await queue.ReadAsync(CancellationToken.None);
        Assert.Equal("alice-0", first.Message.RequestId);
        Assert.Null(await queue.PositionAsync(first.Message));
        Assert.Equal(0, await queue.PositionAsync(Job("bob", 0)));
    }

    [Fact]
    public async Task ARetryComesBackAtTheHeadOfItsFlowNotBehindItsBacklog()
    {
        using var queue = new InProcessJobQueue();
        for (var i = 0; i < 3; i++)
        {
            await queue.EnqueueAsync(Job("alice", i));
        }
        var taken = await queue.ReadAsync(CancellationToken.None);
        queue.EnqueueLater(taken.Message, TimeSpan.Zero);
        await queue.AckAsync(taken);
        Assert.Equal(["alice-0", "alice-1", "alice-2"], await Drain(queue));
    }

    [Fact]
    public async Task AWaitingReaderGetsTheNextMessageAndACancelledOneLosesNone()
    {
        using var queue = new InProcessJobQueue();
        using (var cancel = new CancellationTokenSource())
        {
            var gaveUp = queue.ReadAsync(cancel.Token).AsTask();
            Assert.False(gaveUp.IsCompleted);
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gaveUp.WaitAsync(TimeSpan.FromSeconds(5)));
        }
        var waiting = queue.ReadAsync(CancellationToken.None).AsTask();
        await queue.EnqueueAsync(Job("alice", 0));
        Assert.Equal("alice-0", (await waiting.WaitAsync(TimeSpan.FromSeconds(5))).Message.RequestId);
        Assert.Equal(0, await queue.DepthAsync());
    }

    [Fact]
    public async Task ManyReadersWaitingOnAnEmptyQueueEachGetOneMessage()
    {
        using var queue = new InProcessJobQueue();
        var readers = Enumerable.Range(0, 8).Select(_ => queue.ReadAsync(CancellationToken.None).AsTask()).ToList();
        for (var i = 0; i < 8; i++)
        {
            await queue.EnqueueAsync(Job(i % 2 == 0 ? "alice" : "bob", i));
        }
        var got = await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(8, got.Select(d => d.Message.RequestId).Distinct().Count());
    }

    [Fact]
    public async Task DisposingEndsWaitingReadersAsAClosedChannel()
    {
        var queue = new InProcessJobQueue();
        var waiting = queue.ReadAsync(CancellationToken.None).AsTask();
        queue.Dispose();
        await Assert.ThrowsAsync<System.Threading.Channels.ChannelClosedException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(5)));
        await Assert.ThrowsAsync<System.Threading.Channels.ChannelClosedException>(() => queue.ReadAsync(CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task UnfairIsFirstInFirstOutWhateverThePriority()
    {
        using var queue = new InProcessJobQueue(null, fair: false);
        await queue.EnqueueAsync(Job("alice", 0, priority: 1));
        await queue.EnqueueAsync(Job("bob", 0, priority: 9, weight: 5));
        await queue.EnqueueAsync(Job("alice", 1, priority: 1));
        Assert.Equal(["alice-0", "bob-0", "alice-1"], await Drain(queue));
    }
}
