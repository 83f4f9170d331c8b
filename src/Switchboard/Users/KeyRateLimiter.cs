using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Switchboard.Users;

/// <summary>
/// A key's requests per minute, checked at the endpoint before any charge, by GCRA (the resource
/// gates' rule): each request moves the key's theoretical arrival time (TAT) on by 60 000 ÷ rpm
/// ms, and is refused while that time is more than a minute ahead (a full minute's requests may
/// come at once, then one per interval). The answer's wait is when the next one would pass.
/// Where the TAT lives decides how far the limit holds:
/// <list type="bullet">
/// <item>with Redis: a key <c>{prefix}:keyrate:&lt;key prefix&gt;</c>, one Lua step on Redis's clock (every process);</item>
/// <item>PostgreSQL without Redis: a row of <c>api_key_rate</c>, one conditional upsert (every process);</item>
/// <item>SQLite: this process's memory (a SQLite store is served by one api process; a write per
/// request would queue behind the single writer).</item>
/// </list>
/// When Redis cannot be reached the store's row is used instead, so the limit still holds.
/// </summary>
public sealed class KeyRateLimiter(Store store, IServiceProvider services)
{
    public const string Code = "key_rate_limited";

    private const long MinuteMs = 60_000;

    private const string Script = """
        if redis.replicate_commands then redis.replicate_commands() end
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local interval = tonumber(ARGV[1])
        local tolerance = tonumber(ARGV[2])
        local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
        if tat - tolerance > now then
          return tat - tolerance - now
        end
        redis.call('SET', KEYS[1], math.max(tat, now) + interval, 'PX', interval + tolerance + 60000)
        return 0
        """;

    private readonly IConnectionMultiplexer? _redis = services.GetService<IConnectionMultiplexer>();
    private readonly KeyRateRedis? _redisKeys = services.GetService<KeyRateRedis>();
    private readonly ConcurrentDictionary<string, long> _local = new(StringComparer.Ordinal);

    /// <summary>Null when the caller may go on; else how long to wait (≥ 1 ms).</summary>
    public async Task<TimeSpan?> TryTakeAsync(string prefix, int rpm)
    {
        if (rpm <= 0)
        {
            return TimeSpan.FromMinutes(1);
        }
        var interval = Math.Max(1, MinuteMs / rpm);
        var tolerance = MinuteMs - interval;
        long wait;
        if (_redis is not null && _redisKeys is not null)
        {
            try
            {
                wait = (long)(await _redis.GetDatabase().ScriptEvaluateAsync(
                    Script, [_redisKeys.Key(prefix)], [interval, tolerance]));
                return wait > 0 ? TimeSpan.FromMilliseconds(wait) : null;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Fall through to the store: the limit holds a little slower rather than not at all.
            }
        }
        wait = store.Kind == StoreKind.Postgres ? InStore(prefix, interval, tolerance) : InMemory(prefix, interval, tolerance);
        return wait > 0 ? TimeSpan.FromMilliseconds(wait) : null;
    }

    private long InStore(string prefix, long interval, long tolerance)
    {
        var now = Clock.NowMs();
        using var connection = store.Open();
        var taken = connection.Execute(
            """
            INSERT INTO api_key_rate (prefix, tat) VALUES (@k, @now + @i)
            ON CONFLICT (prefix) DO UPDATE SET tat = GREATEST(api_key_rate.tat, @now) + @i
            WHERE api_key_rate.tat - @tol <= @now
            """,
            ("@k", prefix), ("@now", now), ("@i", interval), ("@tol", tolerance));
        if (taken == 1)
        {
            return 0;
        }
        var tat = connection.Scalar<long?>("SELECT tat FROM api_key_rate WHERE prefix = @k", ("@k", prefix)) ?? now;
        return Math.Max(1, tat - tolerance - now);
    }

    private long InMemory(string prefix, long interval, long tolerance)
    {
        var now = Clock.NowMs();
        while (true)
        {
            var tat = _local.GetOrAdd(prefix, 0);
            if (tat - tolerance > now)
            {
                return tat - tolerance - now;
            }
            if (_local.TryUpdate(prefix, Math.Max(tat, now) + interval, tat))
            {
                return 0;
            }
        }
    }

    /// <summary>The 429 for a key over its rpm, with <c>Retry-After</c> in whole seconds (at least 1).</summary>
    public static IResult Refused(HttpContext http, string prefix, int rpm, TimeSpan wait)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Problems.Of(429, Code, "The API key's rate limit is reached",
            $"API key {prefix} may make {rpm} purchases per minute; try again in {seconds} s.",
            new Dictionary<string, object?> { ["key"] = prefix, ["rpm"] = rpm, ["retry_after_s"] = seconds });
    }
}

/// <summary>
/// Where <see cref="KeyRateLimiter"/> keeps a key's rate in Redis (<c>{prefix}:keyrate:&lt;key&gt;</c>),
/// registered with the Redis queue (Hosting/RedisRegistration.cs), so this folder needs nothing of Queue/.
/// </summary>
public sealed record KeyRateRedis(Func<string, RedisKey> Key);
