using StackExchange.Redis;
using Switchboard.Queue;

namespace Switchboard.Live;

/// <summary>
/// The change feed through Redis pub/sub (deployments with <c>redis.uri</c>), on the shared
/// multiplexer and the channel <c>{prefix}:changes</c>. Sending is fire-and-forget: the
/// multiplexer queues the publish and the loop goes on, so a slow or absent Redis never holds a
/// commit. Received messages are read in order, one at a time (a subscription's message queue),
/// so partial output keeps its order. Pub/sub keeps nothing for a subscriber that is away: when
/// the subscription connection comes back, every follower reads its row again.
/// </summary>
public sealed class RedisChangeFeed(IConnectionMultiplexer redis, RedisSettings settings, ChangeHub hub, ILogger<RedisChangeFeed> logger)
    : DistributedChangeFeed(hub, logger)
{
    /// <summary>Redis takes far larger messages; this keeps one message's parse short.</summary>
    protected override int MaxMessageBytes => 64 * 1024;

    private RedisChannel Channel { get; } = RedisChannel.Literal(settings.Key("changes").ToString());

    protected override async Task SendAsync(IReadOnlyList<string> messages, CancellationToken cancellationToken)
    {
        var subscriber = redis.GetSubscriber();
        foreach (var message in messages)
        {
            await subscriber.PublishAsync(Channel, message, CommandFlags.FireAndForget);
        }
    }

    protected override async Task ListenAsync(CancellationToken stoppingToken)
    {
        redis.ConnectionRestored += OnRestored;
        try
        {
            var queue = await SubscribeAsync(stoppingToken);
            if (queue is null)
            {
                return;
            }
            queue.OnMessage(message => Received(message.Message.ToString()));
            await Task.Delay(Timeout.Infinite, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            await queue.UnsubscribeAsync();
        }
        finally
        {
            redis.ConnectionRestored -= OnRestored;
        }
    }

    /// <summary>Subscribes, retrying while Redis is not reachable at start; null when stopping first.</summary>
    private async Task<ChannelMessageQueue?> SubscribeAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                return await redis.GetSubscriber().SubscribeAsync(Channel);
            }
            catch (RedisException ex)
            {
                logger.LogWarning("The change feed could not subscribe to Redis yet: {Error}", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
        return null;
    }

    /// <summary>
    /// The multiplexer re-subscribes on its own when the subscription connection is back; the
    /// followers read their rows now, and once more a second later, since the re-subscription
    /// may complete just after this event (a change in between would otherwise wait for the next).
    /// </summary>
    private void OnRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType != ConnectionType.Subscription)
        {
            return;
        }
        logger.LogInformation("The change feed's Redis subscription is back; followers read their requests again");
        Resubscribed();
        _ = Task.Delay(TimeSpan.FromSeconds(1)).ContinueWith(_ => Hub.WakeAll(), TaskScheduler.Default);
    }
}
