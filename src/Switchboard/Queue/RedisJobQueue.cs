using StackExchange.Redis;
using Switchboard.Fairness;

namespace Switchboard.Queue;

/// <summary>
/// The distributed deployment's queue: a Redis Stream per handler, each read through one consumer
/// group (one consumer per executor process) by the executors that serve the handler, a sorted
/// set of delayed messages per handler, and a hash counting the copies held of each message,
/// kept in step by Lua scripts.
/// <list type="bullet">
/// <item>Enqueueing never waits for Redis: a dispatcher sends in pipelined batches and drops a
/// batch when Redis is down (one warning per outage); recon re-dispatches what went missing.</item>
/// <item>Reading happens on a dedicated connection, fetching no more than the waiting workers ask
/// for; entries idle longer than <c>reclaimAfter</c> (a dead executor's) are delivered again.</item>
/// <item>Acking deletes the entry, so the stream holds only undelivered and in-flight entries.</item>
/// </list>
/// Redis errors while reading, acking or touching are logged once per outage and retried; the
/// executor keeps running and resumes when Redis is back.
/// </summary>
public sealed class RedisJobQueue : IJobQueue, IAsyncDisposable, IDisposable
{
    /// <summary>Fields per HMGET in <see cref="MissingAsync"/>: bounded replies, bounded time per command.</summary>
    private const int MissingChunk = 1000;

    private const int Attempts = 3;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisSettings _settings;
    private readonly RedisQueueKeys _keys;
    private readonly string _consumer;
    private readonly IReadOnlyList<string> _served;
    private readonly TimeSpan _reclaimAfter;
    private readonly RedisJobQueueOptions _options;
    private readonly ILogger _logger;
    private readonly RedisDispatcher _dispatcher;
    private readonly RedisOutageLog _ackOutage;
    private readonly RedisOutageLog _touchOutage;
    private readonly Lock _startLock = new();
    private RedisFetcher? _fetcher;
    private RedisDelayedMover? _mover;
    private bool _disposed;

    /// <param name="redis">The process's shared multiplexer (never used for blocking commands).</param>
    /// <param name="settings">Where Redis is (the reader opens its own connection there) and the key prefix.</param>
    /// <param name="consumer">This process's consumer name in the group: unique per executor process (its owner id).</param>
    /// <param name="reclaimAfter">
    /// The lease: an entry delivered and not touched or acked for this long is given to another
    /// consumer. Touch in-flight deliveries more often than this (the lease renewer does, every third).
    /// </param>
    /// <param name="served">
    /// The handlers whose streams this process reads (an executor's handlers that its
    /// <c>--handlers</c> patterns match); empty for a process that only enqueues.
    /// </param>
    public RedisJobQueue(
        IConnectionMultiplexer redis, RedisSettings settings, string consumer, TimeSpan reclaimAfter, ILogger<RedisJobQueue> logger,
        RedisJobQueueOptions? options = null, IReadOnlyCollection<string>? served = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(consumer);
        if (reclaimAfter <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(reclaimAfter), "the reclaim time must be positive");
        }
        _redis = redis;
        _settings = settings;
        _keys = new RedisQueueKeys(settings);
        _consumer = consumer;
        _served = [.. (served ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        _reclaimAfter = reclaimAfter;
        _options = options ?? new RedisJobQueueOptions();
        _logger = logger;
        _dispatcher = new RedisDispatcher(redis, _keys, _options, logger);
        _ackOutage = new RedisOutageLog(logger, "acking jobs");
        _touchOutage = new RedisOutageLog(logger, "touching in-flight jobs");
    }

    public ValueTask EnqueueAsync(JobMessage message, CancellationToken cancellationToken = default)
    {
        _dispatcher.Post(message, TimeSpan.Zero);
        return ValueTask.CompletedTask;
    }

    public void EnqueueLater(JobMessage message, TimeSpan delay) => _dispatcher.Post(message, delay);

    /// <summary>Completes once every message enqueued before the call was sent to Redis (or dropped because Redis was unavailable).</summary>
    public Task FlushAsync() => _dispatcher.FlushAsync();

    public ValueTask<JobDelivery> ReadAsync(CancellationToken cancellationToken) => StartReading().ReadAsync(cancellationToken);

    public async ValueTask AckAsync(JobDelivery delivery)
    {
        if (delivery.Receipt is not string id)
        {
            throw new ArgumentException("not a delivery of this queue", nameof(delivery));
        }
        // Given up after the retries, the entry stays pending: it is reclaimed after the lease,
        // its claim fails in the store (the request is done) and that delivery acks it.
        await Retry(() => Database.ScriptEvaluateAsync(RedisScripts.Ack, [_keys.Stream(delivery.Message.Handler), _keys.Held], [RedisQueueKeys.Group, id, delivery.Message.ToString()]), _ackOutage);
    }

    public async ValueTask TouchAsync(IReadOnlyCollection<JobDelivery> deliveries)
    {
        var byStream = deliveries.Where(d => d.Receipt is string)
            .GroupBy(d => d.Message.Handler, StringComparer.Ordinal)
            .Select(g => (Stream: _keys.Stream(g.Key), Ids: g.Select(d => (RedisValue)(string)d.Receipt!).ToArray()))
            .ToList();
        if (byStream.Count == 0)
        {
            return;
        }
        // XCLAIM to ourselves with min-idle 0 resets the idle time; JUSTID spares the payload.
        // Given up, the next heartbeat (a third of the lease later) tries again.
        await Retry(() => Task.WhenAll(byStream.SelectMany(s => s.Ids.Chunk(MissingChunk).Select(chunk =>
            Database.StreamClaimIdsOnlyAsync(s.Stream, RedisQueueKeys.Group, _consumer, 0, chunk)))), _touchOutage);
    }

    /// <exception cref="RedisException">Redis is unavailable: recon retries its pass later.</exception>
    public async ValueTask<IReadOnlyList<JobMessage>> MissingAsync(IReadOnlyList<JobMessage> candidates)
    {
        var missing = new List<JobMessage>();
        var database = Database;
        var calls = candidates.Chunk(MissingChunk)
            .Select(chunk => (Chunk: chunk, Counts: database.HashGetAsync(_keys.Held, [.. chunk.Select(m => (RedisValue)m.ToString())])))
            .ToList();
        foreach (var (chunk, counts) in calls)
        {
            var values = await counts;
            for (var i = 0; i < chunk.Length; i++)
            {
                if (!values[i].TryParse(out long held) || held <= 0)
                {
                    missing.Add(chunk[i]);
                }
            }
        }
        return missing;
    }

    /// <summary>
    /// <see cref="FairOrder{T}.PositionOf"/> computed in Redis (<see cref="RedisFairScripts.Position"/>)
    /// for the message in its flow (its user and priority say which), plus the stream's undelivered
    /// entries; null when it is not in that flow (delivered, delayed, already staged) or fairness is off.
    /// </summary>
    /// <exception cref="RedisException">Redis is unavailable.</exception>
    public async ValueTask<long?> PositionAsync(JobMessage message)
    {
        if (!_options.Fair)
        {
            return null;
        }
        var position = (long)await Database.ScriptEvaluateAsync(RedisFairScripts.Position, [_keys.Stream(message.Handler), _keys.Fair(message.Handler)],
            [RedisQueueKeys.Group, _options.AgeStepMs, message.ToString(), message.UserId ?? "", Priorities.Clamp(message.Priority)]);
        return position < 0 ? null : position;
    }

    public async ValueTask<long> DepthAsync() => (await DepthByHandlerAsync()).Values.Sum();

    /// <exception cref="RedisException">Redis is unavailable.</exception>
    public async ValueTask<long> ForgetLegacyCopiesAsync()
    {
        var forgotten = (long)await _redis.GetDatabase().ScriptEvaluateAsync(
            RedisScripts.ForgetLegacy, [_keys.LegacyStream, _keys.LegacyDelayed, _keys.Held], [RedisQueueKeys.Field]);
        if (forgotten > 0)
        {
            _logger.LogWarning("Forgot {Count} messages left in the queue's layout before one stream per handler; recon sends their requests again", forgotten);
        }
        return forgotten;
    }

    /// <exception cref="RedisException">Redis is unavailable.</exception>
    public async ValueTask<IReadOnlyDictionary<string, long>> DepthByHandlerAsync()
    {
        var handlers = (await Database.SetMembersAsync(_keys.Handlers)).Select(h => (string)h!).Order(StringComparer.Ordinal).ToArray();
        var depths = new Dictionary<string, long>(StringComparer.Ordinal);
        if (handlers.Length == 0)
        {
            return depths;
        }
        // The fair flows count too, fairness on or off: a process with it off may read flows a fair one filled.
        var result = await Database.ScriptEvaluateAsync(RedisFairScripts.Depth, [.. handlers.SelectMany(h => new[] { _keys.Stream(h), _keys.Fair(h) })], [RedisQueueKeys.Group]);
        var values = (RedisResult[])result!;
        for (var i = 0; i < handlers.Length; i++)
        {
            depths[handlers[i]] = (long)values[i];
        }
        return depths;
    }

    private IDatabase Database => _redis.GetDatabase();

    /// <summary>The fetch loop and the delayed mover start with the first read: a process that only enqueues (api) never opens the reader connection.</summary>
    private RedisFetcher StartReading()
    {
        if (_fetcher is { } started)
        {
            return started;
        }
        lock (_startLock)
        {
            if (_disposed)
            {
                // What a closed in-process queue throws too: the worker loops end on it.
                throw new System.Threading.Channels.ChannelClosedException();
            }
            if (_fetcher is null)
            {
                _mover = new RedisDelayedMover(_redis, _keys, _served, _options, _logger);
                _fetcher = new RedisFetcher(_redis, _settings, _keys, _consumer, _served, _reclaimAfter, _options, _logger);
            }
            return _fetcher;
        }
    }

    private static async Task Retry(Func<Task> call, RedisOutageLog outage)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await call();
                outage.Succeeded();
                return;
            }
            catch (Exception) when (attempt < Attempts)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt * attempt));
            }
            catch (Exception ex)
            {
                outage.Failed(ex);
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        RedisFetcher? fetcher;
        RedisDelayedMover? mover;
        lock (_startLock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            fetcher = _fetcher;
            mover = _mover;
        }
        // Stop taking entries first, then send what was enqueued (a job that just finished may have queued its retry).
        if (fetcher is not null)
        {
            await fetcher.DisposeAsync();
        }
        if (mover is not null)
        {
            await mover.DisposeAsync();
        }
        await _dispatcher.DisposeAsync();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
