using StackExchange.Redis;

namespace Switchboard.Queue;

/// <summary>
/// The queue's keys. All share the prefix's hash tag, so in a Redis Cluster they live in one
/// slot and a Lua script may touch several of them atomically.
/// <para>
/// One stream (and one delayed set) per handler: an executor reads the streams of the handlers it
/// serves, as a Celery worker consumes the queues named by <c>-Q</c>, so one handler's backlog
/// never stands in front of another's jobs.
/// </para>
/// </summary>
internal sealed class RedisQueueKeys(RedisSettings settings)
{
    /// <summary>The consumer group every executor reads each stream through: one consumer per executor process.</summary>
    public const string Group = "executors";

    /// <summary>Field of a stream entry that holds the message text (<c>id:run</c>).</summary>
    public const string Field = "m";

    /// <summary>Field of a stream entry that holds its format (Storage/Formats.cs), past format 1 only: an entry without it is format 1.</summary>
    public const string Version = "v";

    /// <summary>Stream of a handler's messages waiting or delivered and not yet acked (acked entries are deleted).</summary>
    public RedisKey Stream(string handler) => settings.Key("jobs:" + handler);

    /// <summary>What <see cref="Stream"/> prepends to the handler: for scripts that send a message read from elsewhere (a resource lane) to its handler's stream.</summary>
    public RedisKey StreamPrefix { get; } = settings.Key("jobs:");

    /// <summary>Sorted set of a handler's messages not due yet; score = due time (Redis clock, Unix ms).</summary>
    public RedisKey Delayed(string handler) => settings.Key("delayed:" + handler);

    /// <summary>Set of the handlers that have ever had a message: which streams the backlog is read from.</summary>
    public RedisKey Handlers { get; } = settings.Key("handlers");

    /// <summary>The single stream and delayed set of builds before one stream per handler (<see cref="RedisScripts.ForgetLegacy"/>).</summary>
    public RedisKey LegacyStream { get; } = settings.Key("jobs");

    /// <inheritdoc cref="LegacyStream"/>
    public RedisKey LegacyDelayed { get; } = settings.Key("delayed");

    /// <summary>
    /// Base of a handler's fair flows (<see cref="RedisFairScripts"/>): a hash of its state, and
    /// keys that start with it and a colon (levels, flows, strides, left-off marks, delayed members' flows).
    /// </summary>
    public RedisKey Fair(string handler) => settings.Key("fair:" + handler);

    /// <summary>Hash of a handler's demand: consumer → its waiting workers, until when that holds, its pending count then.</summary>
    public RedisKey Demand(string handler) => settings.Key("fair:" + handler + ":demand");

    /// <summary>Hash: message text → copies held (waiting, delayed, or delivered and not acked).</summary>
    public RedisKey Held { get; } = settings.Key("held");
}
