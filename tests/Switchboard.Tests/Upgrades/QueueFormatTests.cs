using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Switchboard.Observability;
using Switchboard.Queue;
using Switchboard.Tests.QueueContract;

namespace Switchboard.Tests.Upgrades;

/// <summary>
/// Queue messages carry a format (Storage/Formats.cs; the Redis entry's <c>v</c>, none for format
/// 1): a consumer of this build leaves an entry of a newer format pending, still counted as held,
/// for a consumer of a build that reads it, meets it again at most once per lease, and says so
/// once; an entry without a format is today's and runs. Entries are written into the stream as
/// another build would, on the suite's Redis.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class QueueFormatTests : IAsyncLifetime
{
    private const string Handler = "echo.render";
    private static readonly TimeSpan ReclaimAfter = TimeSpan.FromMilliseconds(300);

    private RedisQueues _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisQueues.Open();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    private RedisJobQueue NewQueue(string consumer, ILogger<RedisJobQueue> logger, TimeSpan? reclaimAfter = null) =>
        _redis.NewQueue(consumer, reclaimAfter ?? ReclaimAfter, logger, Handler);

    private IDatabase Db => _redis.Db;

    private RedisKey Stream => _redis.Settings.Key("jobs:" + Handler);

    private static JobMessage Message() => new($"req_{Guid.NewGuid():N}", 1, Handler);

    /// <summary>What another build's enqueue leaves: the entry (its fields as given) and one more copy held.</summary>
    private async Task AddAsOtherBuild(JobMessage message, params NameValueEntry[] more)
    {
        await Db.HashIncrementAsync(_redis.Settings.Key("held"), message.ToString());
        await Db.StreamAddAsync(Stream, [new NameValueEntry(RedisQueueKeys.Field, message.ToString()), .. more]);
    }

    private static int Warnings(CapturingLogger<RedisJobQueue> logger, string text) =>
        logger.Entries.Count(e => e.Level == LogLevel.Warning && e.Message.Contains(text, StringComparison.Ordinal));

    [Fact]
    public async Task AnEntryOfANewerFormatIsNeitherRunNorAckedAndStaysForAConsumerThatReadsIt()
    {
        var logger = new CapturingLogger<RedisJobQueue>();
        var unreadable = SwitchboardMetrics.Unreadable.WithLabels("message", "2");
        var countedBefore = unreadable.Value;
        var newer = Message();
        await AddAsOtherBuild(newer, new NameValueEntry(RedisQueueKeys.Version, "2"));
        var queue = NewQueue("old-build", logger);
        var current = Message();
        await queue.EnqueueAsync(current);
        await queue.FlushAsync();

        // The newer entry came first: it is passed over, and the next one runs.
        var delivery = await QueueReads.ReadWithin(queue, TimeSpan.FromSeconds(5));
        Assert.Equal(current, delivery?.Message);
        await queue.AckAsync(delivery!);
        // Several leases pass: the newer entry never reaches a worker.
        Assert.Null(await QueueReads.ReadWithin(queue, TimeSpan.FromSeconds(2)));

        // Still pending (never acked), still the stream's one entry, still counted as held: recon sends no second copy.
        var pending = await Db.StreamPendingMessagesAsync(Stream, RedisQueueKeys.Group, 10, RedisValue.Null);
        var entry = Assert.Single(pending);
        Assert.Equal(1, await Db.StreamLengthAsync(Stream));
        Assert.Empty(await queue.MissingAsync([newer]));
        // Met again by the reclaim, once per lease at most (about 7 in 2 s), never in a tight loop.
        Assert.InRange(entry.DeliveryCount, 2, 12);
        Assert.InRange(unreadable.Value - countedBefore, 2, 12);
        // Said once (once a minute per format), with the entry and the format this build reads.
        Assert.Equal(1, Warnings(logger, $"Left message {entry.MessageId} of {Handler} ({newer}) of format 2 for a newer build: this build reads formats up to 1"));

        // A consumer of a newer build gets it, as it was written.
        var claimed = await Db.StreamClaimAsync(Stream, RedisQueueKeys.Group, "new-build", 0, [entry.MessageId]);
        var taken = Assert.Single(claimed);
        Assert.Equal(newer.ToString(), (string?)taken[RedisQueueKeys.Field]);
        Assert.Equal("2", (string?)taken[RedisQueueKeys.Version]);
    }

    [Fact]
    public async Task AnEntryWithoutAFormatIsTodaysAndRuns()
    {
        var logger = new CapturingLogger<RedisJobQueue>();
        var before = Message();
        var explicitOne = Message();
        await AddAsOtherBuild(before);
        await AddAsOtherBuild(explicitOne, new NameValueEntry(RedisQueueKeys.Version, "1"));
        var queue = NewQueue("this-build", logger);

        var first = await QueueReads.ReadWithin(queue, TimeSpan.FromSeconds(5));
        var second = await QueueReads.ReadWithin(queue, TimeSpan.FromSeconds(5));

        Assert.Equal(before, first?.Message);
        Assert.Equal(explicitOne, second?.Message);
        await queue.AckAsync(first!);
        await queue.AckAsync(second!);
        Assert.Equal([before, explicitOne], await queue.MissingAsync([before, explicitOne]));
        Assert.Equal(0, await Db.StreamLengthAsync(Stream));
        Assert.Equal(0, Warnings(logger, "Left message"));
    }

    [Fact]
    public async Task ADelayedMessageKeepsItsFormatWhenItComesDue()
    {
        var logger = new CapturingLogger<RedisJobQueue>();
        var newer = Message();
        var current = Message();
        // Delayed members as RedisDispatcher writes them: nonce.format/text past format 1, nonce/text for format 1. Both due.
        foreach (var (message, member) in new[] { (newer, $"abc1.2/{newer}"), (current, $"abc2/{current}") })
        {
            await Db.HashIncrementAsync(_redis.Settings.Key("held"), message.ToString());
            await Db.SortedSetAddAsync(_redis.Settings.Key("delayed:" + Handler), member, 0);
        }
        var queue = NewQueue("old-build", logger, reclaimAfter: TimeSpan.FromMinutes(5));

        var delivery = await QueueReads.ReadWithin(queue, TimeSpan.FromSeconds(5));
        Assert.Equal(current, delivery?.Message);
        await queue.AckAsync(delivery!);
        Assert.Null(await QueueReads.ReadWithin(queue, TimeSpan.FromMilliseconds(500)));

        var left = Assert.Single(await Db.StreamRangeAsync(Stream));
        Assert.Equal(newer.ToString(), (string?)left[RedisQueueKeys.Field]);
        Assert.Equal("2", (string?)left[RedisQueueKeys.Version]);
        Assert.Equal(1, Warnings(logger, $"({newer}) of format 2"));
    }

    [Fact]
    public async Task AnEntryFetchedButNeverHandedOutGoesBackWithItsFields()
    {
        var leaving = NewQueue("leaving", new CapturingLogger<RedisJobQueue>(), reclaimAfter: TimeSpan.FromMinutes(5));
        // A read that gives up leaves the fetch loop blocked for one entry, which then arrives.
        Assert.Null(await QueueReads.ReadWithin(leaving, TimeSpan.FromMilliseconds(100)));
        var message = Message();
        await AddAsOtherBuild(message, new NameValueEntry(RedisQueueKeys.Version, "1"));
        await Wait.ForValue(async () => await leaving.DepthAsync(), 0L, TimeSpan.FromSeconds(10), "the blocked fetch to take the entry (depth)");
        await leaving.DisposeAsync();

        var back = Assert.Single(await Db.StreamRangeAsync(Stream));
        Assert.Equal(message.ToString(), (string?)back[RedisQueueKeys.Field]);
        Assert.Equal("1", (string?)back[RedisQueueKeys.Version]);
    }
}
