using System.Reflection;
using System.Text.Json.Nodes;
using StackExchange.Redis;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Execution;

/// <summary>
/// Tells the deployment this executor is alive and what it runs: every interval it writes
/// <c>{prefix}:executor:&lt;owner&gt;</c> (JSON, expiring after three intervals, so a dead
/// executor's key vanishes by itself) and its last beat in the sorted set
/// <c>{prefix}:executors</c> (trimmed of entries older than ten intervals), which lets a
/// watcher list executors without scanning keys. Both are deleted on a graceful stop.
/// A Redis outage only skips beats.
/// </summary>
public sealed class ExecutorHeartbeat : BackgroundService
{
    /// <summary>Default time between executor heartbeats.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(5);

    // KEYS: executor key, executors set. ARGV: json, ttl ms, owner, trim-before ms (Redis clock).
    // (Redis before 7 refuses a write after TIME unless the script replicates effects.)
    private const string BeatScript = """
        if redis.replicate_commands then redis.replicate_commands() end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZADD', KEYS[2], now, ARGV[3])
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[4]))
        return now
        """;

    private static readonly string Version =
        typeof(ExecutorHeartbeat).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(ExecutorHeartbeat).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    private readonly IConnectionMultiplexer _redis;
    private readonly string _owner;
    private readonly IReadOnlyCollection<string> _handlers;
    private readonly int _workers;
    private readonly Func<int> _inFlight;
    private readonly TimeSpan _interval;
    private readonly ILogger<ExecutorHeartbeat> _logger;
    private readonly RedisKey _key;
    private readonly RedisKey _index;
    private readonly long _startedAt = Clock.NowMs();
    private readonly RedisOutageLog _outage;
    private readonly Func<IReadOnlyCollection<string>> _missingEnv;
    private readonly IReadOnlyList<string> _patterns;

    /// <param name="redis">The shared multiplexer.</param>
    /// <param name="settings">Names the keys.</param>
    /// <param name="owner">This executor's owner id (the one its claims carry in the store).</param>
    /// <param name="handlers">Ids of the handlers this executor runs (those its <c>--handlers</c> patterns match).</param>
    /// <param name="workers">Jobs it runs at once.</param>
    /// <param name="inFlight">Jobs running right now; called once per beat.</param>
    /// <param name="interval">Time between beats; the key expires after three.</param>
    /// <param name="missingEnv">
    /// The environment variables named by its handlers' endpoint profiles that are not set here
    /// (<see cref="Config.ExecutorCredentials"/>); called once per beat. Names only, never values.
    /// </param>
    /// <param name="patterns">Its <c>--handlers</c> patterns (empty: all): the executor group it belongs to.</param>
    public ExecutorHeartbeat(
        IConnectionMultiplexer redis, RedisSettings settings, string owner, IReadOnlyCollection<string> handlers, int workers, Func<int> inFlight, TimeSpan interval,
        ILogger<ExecutorHeartbeat> logger, Func<IReadOnlyCollection<string>>? missingEnv = null, IReadOnlyList<string>? patterns = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        if (interval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(interval), "the heartbeat interval must be positive");
        }
        _redis = redis;
        _owner = owner;
        _handlers = handlers;
        _workers = workers;
        _inFlight = inFlight;
        _interval = interval;
        _logger = logger;
        _key = settings.Key($"executor:{owner}");
        _index = settings.Key("executors");
        _outage = new RedisOutageLog(logger, "the executor heartbeat");
        _missingEnv = missingEnv ?? (() => []);
        _patterns = patterns ?? [];
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            do
            {
                await Beat();
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task Beat()
    {
        var state = new JsonObject
        {
            ["owner"] = _owner,
            ["handlers"] = new JsonArray([.. _handlers.Order(StringComparer.Ordinal).Select(h => (JsonNode?)h)]),
            ["patterns"] = new JsonArray([.. _patterns.Select(p => (JsonNode?)p)]),
            ["version"] = Version,
            ["workers"] = _workers,
            ["in_flight"] = _inFlight(),
            ["started_at"] = Clock.Iso(_startedAt),
            ["missing_env"] = new JsonArray([.. _missingEnv().Select(v => (JsonNode?)v)]),
        };
        var interval = (long)_interval.TotalMilliseconds;
        try
        {
            await _redis.GetDatabase().ScriptEvaluateAsync(BeatScript, [_key, _index], [state.ToJsonString(), 3 * interval, _owner, 10 * interval]);
            _outage.Succeeded();
        }
        catch (Exception ex)
        {
            _outage.Failed(ex);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            // Gone at once rather than after three intervals: a watcher must not count a stopped executor.
            var database = _redis.GetDatabase();
            await Task.WhenAll(database.KeyDeleteAsync(_key), database.SortedSetRemoveAsync(_index, _owner));
        }
        catch (Exception ex)
        {
            _logger.LogWarning("Could not remove the executor heartbeat; it expires by itself: {Error}", ex.Message);
        }
    }
}
