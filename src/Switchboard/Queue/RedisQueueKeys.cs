using StackExchange.Redis;

namespace Switchboard.Queue;

/// <summary>
/// The queue's keys. All share the prefix's hash tag, so in a Redis Cluster they live in one
/// slot and a Lua script may touch several of them atomically.
/// </summary>
internal sealed class RedisQueueKeys(RedisSettings settings)
{
    /// <summary>The consumer group every executor reads through: one group, one consumer per executor process.</summary>
    public const string Group = "executors";

    /// <summary>Field of a stream entry that holds the message text (<c>id:run</c>).</summary>
    public const string Field = "m";

    /// <summary>Stream of messages waiting or delivered and not yet acked (acked entries are deleted).</summary>
    public RedisKey Stream { get; } = settings.Key("jobs");

    /// <summary>Sorted set of messages not due yet; score = due time (Redis clock, Unix ms).</summary>
    public RedisKey Delayed { get; } = settings.Key("delayed");

    /// <summary>Hash: message text → copies held (waiting, delayed, or delivered and not acked).</summary>
    public RedisKey Held { get; } = settings.Key("held");
}
