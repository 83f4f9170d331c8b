namespace Switchboard.Resources;

/// <summary>
/// The Redis gate's Lua scripts: each step is one script, so every executor sees one truth and
/// two executors can never both take the last slot. Keys of a resource share the prefix's hash
/// tag. Time is Redis's clock (<c>TIME</c>), so executors with skewed clocks agree.
/// <para>
/// Per resource: <c>holders</c> (sorted set: job → lease end, ms), <c>tat</c> (GCRA theoretical
/// arrival time, ms), <c>spent:&lt;window start&gt;</c> (integration credits of the budget
/// period), <c>lane</c> (list of <c>credits|job</c>, FIFO), <c>parked</c> (set of the lane's
/// jobs), <c>avg</c> (average run time, ms). Common ARGV of <see cref="Take"/>: lease ms,
/// max_concurrent (0: none), interval ms (0: no rate), tolerance ms, budget (-1: none), period ms.
/// </para>
/// </summary>
internal static class RedisGateScripts
{
    private const string Prelude = """
        if redis.replicate_commands then redis.replicate_commands() end
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

        """;

    /// <summary>
    /// KEYS: holders, tat, spent prefix. Slot, rate token and credits together, or nothing:
    /// returns {1, 0, 0} or {0, wait ms, what is missing: 2 slot, 3 rate, 4 budget}.
    /// </summary>
    private const string Take = """
        local function take(job, credits, a)
          local lease, maxc, interval, tolerance, budget, period = a[1], a[2], a[3], a[4], a[5], a[6]
          redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
          if maxc > 0 and redis.call('ZCARD', KEYS[1]) >= maxc then
            local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
            return {0, math.max(1, tonumber(first[2]) - now), 2}
          end
          local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
          if interval > 0 and tat - tolerance > now then
            return {0, tat - tolerance - now, 3}
          end
          local window = math.floor(now / period) * period
          local spentKey = KEYS[3] .. window
          if budget >= 0 then
            local spent = tonumber(redis.call('GET', spentKey) or '0')
            if spent + credits > budget then
              return {0, window + period - now, 4}
            end
          end
          redis.call('ZADD', KEYS[1], now + lease, job)
          redis.call('PEXPIRE', KEYS[1], lease * 2)
          if interval > 0 then
            redis.call('SET', KEYS[2], math.max(tat, now) + interval, 'PX', interval + tolerance + 60000)
          end
          if budget >= 0 and credits > 0 then
            redis.call('INCRBY', spentKey, credits)
            redis.call('PEXPIRE', spentKey, period * 2)
          end
          return {1, 0, 0}
        end

        local function spec(from)
          local a = {}
          for i = 0, 5 do a[i + 1] = tonumber(ARGV[from + i]) end
          return a
        end

        """;

    /// <summary>KEYS: holders, tat, spent prefix, lane. ARGV: job, credits, spec (6). {1, 0, 0} taken (or already reserved for it), {0, 0, 1} others wait, else as <see cref="Take"/>.</summary>
    public const string Acquire = Prelude + Take + """
        local a = spec(3)
        if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
          redis.call('ZADD', KEYS[1], now + a[1], ARGV[1])
          return {1, 0, 0}
        end
        if redis.call('LLEN', KEYS[4]) > 0 then
          return {0, 0, 1}
        end
        return take(ARGV[1], tonumber(ARGV[2]), a)
        """;

    /// <summary>
    /// KEYS: lane, parked, held, lanes. ARGV: job, credits, resource, handler. Appends once (as
    /// <c>credits|job|handler</c>: the handler says which stream it goes back to); the lane's
    /// copy counts as held; the resource is listed in <c>lanes</c> (so a lane is never forgotten).
    /// Returns the lane's length.
    /// </summary>
    public const string Park = """
        if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
          redis.call('RPUSH', KEYS[1], ARGV[2] .. '|' .. ARGV[1] .. '|' .. ARGV[4])
          redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
          redis.call('SADD', KEYS[4], ARGV[3])
        end
        return redis.call('LLEN', KEYS[1])
        """;

    /// <summary>
    /// KEYS: lane, parked, stream prefix (its handler's stream is the prefix and the handler),
    /// lanes. ARGV: resource. Sends a whole lane on without limits (its resource left the map;
    /// the copies only move) and forgets it. Returns how many moved.
    /// </summary>
    public const string Drain = """
        local entries = redis.call('LRANGE', KEYS[1], 0, -1)
        for _, entry in ipairs(entries) do
          local bar = string.find(entry, '|', 1, true)
          local second = string.find(entry, '|', bar + 1, true)
          redis.call('XADD', KEYS[3] .. string.sub(entry, second + 1), '*', 'm', string.sub(entry, bar + 1, second - 1))
        end
        redis.call('DEL', KEYS[1], KEYS[2])
        redis.call('SREM', KEYS[4], ARGV[1])
        return #entries
        """;

    /// <summary>
    /// KEYS: holders, tat, spent prefix, lane, parked, stream prefix. ARGV: spec (6), limit. Moves
    /// lane heads into their handlers' job streams while capacity allows, reserving it for each (the copy only moves:
    /// the held count stays). Returns {woken, wait ms of the head (-1: lane empty)}.
    /// </summary>
    public const string Wake = Prelude + Take + """
        local a = spec(1)
        local limit = tonumber(ARGV[7])
        local woken = 0
        while woken < limit do
          local head = redis.call('LINDEX', KEYS[4], 0)
          if not head then return {woken, -1} end
          local bar = string.find(head, '|', 1, true)
          local second = string.find(head, '|', bar + 1, true)
          local job = string.sub(head, bar + 1, second - 1)
          local r = take(job, tonumber(string.sub(head, 1, bar - 1)), a)
          if r[1] == 0 then return {woken, r[2]} end
          redis.call('LPOP', KEYS[4])
          redis.call('SREM', KEYS[5], job)
          redis.call('XADD', KEYS[6] .. string.sub(head, second + 1), '*', 'm', job)
          woken = woken + 1
        end
        return {woken, 0}
        """;

    /// <summary>KEYS: holders, avg. ARGV: job, ran ms (-1: unused). Frees the slot and folds the run time into the average.</summary>
    public const string Release = """
        redis.call('ZREM', KEYS[1], ARGV[1])
        local ran = tonumber(ARGV[2])
        if ran >= 0 then
          local avg = tonumber(redis.call('GET', KEYS[2]) or ARGV[2])
          redis.call('SET', KEYS[2], math.floor(avg * 0.8 + ran * 0.2), 'EX', 86400)
        end
        return 1
        """;

    /// <summary>KEYS: holders. ARGV: lease ms, jobs… Extends the leases of slots still held (an expired one is not revived).</summary>
    public const string Renew = Prelude + """
        for i = 2, #ARGV do
          redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i])
        end
        redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
        return 1
        """;

    /// <summary>KEYS: holders, lane, spent prefix. ARGV: period ms. Returns {slots held, lane length, spent this period, period end ms}.</summary>
    public const string State = Prelude + """
        local period = tonumber(ARGV[1])
        local window = math.floor(now / period) * period
        return {redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf'), redis.call('LLEN', KEYS[2]),
          tonumber(redis.call('GET', KEYS[3] .. window) or '0'), window + period}
        """;

    /// <summary>
    /// KEYS: lane, avg, spent prefix. ARGV: entry (credits|job|handler) or empty, credits, budget, period.
    /// Returns {position (0: not parked), lane length, average run ms, budget wait ms}.
    /// </summary>
    public const string Look = Prelude + """
        local position = 0
        if ARGV[1] ~= '' then
          local at = redis.call('LPOS', KEYS[1], ARGV[1])
          if at then position = at + 1 end
        end
        local budget, period = tonumber(ARGV[3]), tonumber(ARGV[4])
        local wait = 0
        if budget >= 0 then
          local window = math.floor(now / period) * period
          local spent = tonumber(redis.call('GET', KEYS[3] .. window) or '0')
          if spent + tonumber(ARGV[2]) > budget then wait = window + period - now end
        end
        return {position, redis.call('LLEN', KEYS[1]), tonumber(redis.call('GET', KEYS[2]) or '1000'), wait}
        """;
}
