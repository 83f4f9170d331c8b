using Switchboard.Fairness;
namespace Switchboard.Resources;

/// <summary>
/// The Redis gate's Lua scripts: each step is one script, so every executor sees one truth and
/// two executors can never both take the last slot. Keys of a resource share the prefix's hash
/// tag. Time is Redis's clock (<c>TIME</c>), so executors with skewed clocks agree.
/// <para>
/// Per resource: <c>holders</c> (sorted set: job → lease end, ms), <c>tat</c> (GCRA theoretical
/// arrival time, ms), <c>spent:&lt;window start&gt;</c> (integration credits of the budget
/// period), <c>parked</c> (set of the lane's jobs), <c>avg</c> (average run time, ms). Common
/// ARGV of <see cref="Take"/>: lease ms, max_concurrent (0: none), interval ms (0: no rate),
/// tolerance ms, budget (-1: none), period ms.
/// </para>
/// <para>
/// The lane (<see cref="FairLane"/>): <c>lane</c>, a list of <c>credits|job|handler</c> (first in
/// first out: <c>Switchboard:Fair</c> off, and what builds before issue 22 left), and the fair
/// lane, <see cref="FairOrder{T}"/>'s rule in Lua: <c>fj</c> (hash: job →
/// <c>priority|credits|handler|user</c>), per priority p <c>fz:p</c> (sorted set: user → pass),
/// <c>fw:p</c> (hash: user → stride), <c>fo:p</c> (hash: user → where its flow left off) and per
/// flow <c>fl:p:user</c> (list of jobs), and <c>fs</c> (hash: per level <c>c</c>p jobs,
/// <c>s</c>p since when it waits (ms), <c>v</c>p virtual time). Whichever of the two is the other
/// mode's leftover goes first (it is older): the list when fair, the flows when not.
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

    /// <summary>
    /// The fair lane's functions (<see cref="FairOrder{T}"/>'s rule; a change there is a change
    /// here). Needs <c>now</c> and <c>P</c> (the resource's key prefix) defined before it.
    /// Passes are doubles: exact below 2^53. A level's live passes lie within one weight-1 stride
    /// (<c>SCALE</c>, 7.2·10^11) of its virtual time, so when that reaches 2^52 they are all lowered
    /// by it (<c>rebase</c>: O(flows of the level), once per ~6,000 weight-1 turns) and stay exact;
    /// numbers only travel as numbers (Redis writes them back exactly), never through <c>..</c>
    /// (which keeps 14 digits). The one product that may pass 2^53, a position's
    /// <c>index × stride</c>, is left to C# (<see cref="FairOrder{T}.TurnsBefore"/>).
    /// </summary>
    private const string FairLane = """
        local SCALE = 720720000000
        local REBASE = 4503599627370496
        local FJ, FS = P .. 'fj', P .. 'fs'

        local function flows_key(p) return P .. 'fz:' .. p end
        local function flow_key(p, user) return P .. 'fl:' .. p .. ':' .. user end
        local function strides_key(p) return P .. 'fw:' .. p end
        local function left_key(p) return P .. 'fo:' .. p end

        local function levels()
          local raw = redis.call('HGETALL', FS)
          local st = {}
          for i = 1, #raw, 2 do st[raw[i]] = tonumber(raw[i + 1]) end
          return st
        end

        local function count(st, p) return st['c' .. p] or 0 end

        local function effective(st, p, step)
          local e = p + math.floor(math.max(0, now - (st['s' .. p] or now)) / step)
          if e > 9 then e = 9 end
          return e
        end

        -- Ties of effective priority go to the level that waited longer, then to the higher own priority.
        local function before(st, a, ea, b, eb)
          if ea ~= eb then return ea > eb end
          local sa, sb = st['s' .. a] or 0, st['s' .. b] or 0
          if sa ~= sb then return sa < sb end
          return a > b
        end

        local function next_level(st, step)
          local best, be = nil, -1
          for p = 0, 9 do
            if count(st, p) > 0 then
              local e = effective(st, p, step)
              if best == nil or before(st, p, e, best, be) then best, be = p, e end
            end
          end
          return best
        end

        -- A parked job's priority, credits, handler and user (the user last: it may hold '|').
        local function meta(job)
          local m = redis.call('HGET', FJ, job)
          if not m then return nil end
          local a = string.find(m, '|', 1, true)
          local b = string.find(m, '|', a + 1, true)
          local c = string.find(m, '|', b + 1, true)
          return tonumber(string.sub(m, 1, a - 1)), string.sub(m, a + 1, b - 1), string.sub(m, b + 1, c - 1), string.sub(m, c + 1)
        end

        -- The job that goes next: job, priority, credits, handler, user; nil when no flow waits.
        local function fair_head(st, step)
          local p = next_level(st, step)
          if p == nil then return nil end
          local user = redis.call('ZRANGE', flows_key(p), 0, 0)[1]
          local job = redis.call('LINDEX', flow_key(p, user), 0)
          local _, credits, handler = meta(job)
          return job, p, credits, handler, user
        end

        -- A flow that emptied is forgotten, remembering where it left off when that is ahead.
        local function forget_flow(p, user, pass, vt)
          redis.call('ZREM', flows_key(p), user)
          redis.call('HDEL', strides_key(p), user)
          if pass > vt then
            redis.call('HSET', left_key(p), user, pass)
            if redis.call('HLEN', left_key(p)) > 1024 then
              local left = redis.call('HGETALL', left_key(p))
              for i = 1, #left, 2 do
                if tonumber(left[i + 1]) <= vt then redis.call('HDEL', left_key(p), left[i]) end
              end
            end
          end
        end

        -- Lowers the level's passes by its virtual time (order unchanged).
        local function rebase(p, by)
          local flows = redis.call('ZRANGE', flows_key(p), 0, -1, 'WITHSCORES')
          for i = 1, #flows, 2 do
            redis.call('ZADD', flows_key(p), tonumber(flows[i + 1]) - by, flows[i])
          end
          local left = redis.call('HGETALL', left_key(p))
          for i = 1, #left, 2 do
            local pass = tonumber(left[i + 1]) - by
            if pass <= 0 then redis.call('HDEL', left_key(p), left[i]) else redis.call('HSET', left_key(p), left[i], pass) end
          end
          redis.call('HSET', FS, 'v' .. p, 0)
        end

        -- Takes the job fair_head gave: its flow's pass moves on by its stride.
        local function fair_pop(st, job, p, user)
          local flow = flow_key(p, user)
          redis.call('LPOP', flow)
          redis.call('HDEL', FJ, job)
          local pass = tonumber(redis.call('ZSCORE', flows_key(p), user))
          local vt = math.max(st['v' .. p] or 0, pass)
          pass = pass + tonumber(redis.call('HGET', strides_key(p), user) or SCALE)
          st['v' .. p], st['s' .. p], st['c' .. p] = vt, now, count(st, p) - 1
          redis.call('HSET', FS, 'v' .. p, vt, 's' .. p, now, 'c' .. p, st['c' .. p])
          if redis.call('LLEN', flow) > 0 then
            redis.call('ZADD', flows_key(p), pass, user)
          else
            forget_flow(p, user, pass, vt)
          end
          if vt >= REBASE then
            rebase(p, vt)
            st['v' .. p] = 0
          end
        end

        -- Appends the job to its flow; a flow that starts takes max(virtual time, where it left off).
        local function fair_park(job, credits, handler, user, p, stride)
          redis.call('HSET', FJ, job, p .. '|' .. credits .. '|' .. handler .. '|' .. user)
          if not redis.call('ZSCORE', flows_key(p), user) then
            local start = tonumber(redis.call('HGET', FS, 'v' .. p) or '0')
            local left = redis.call('HGET', left_key(p), user)
            if left then
              redis.call('HDEL', left_key(p), user)
              start = math.max(start, tonumber(left))
            end
            redis.call('ZADD', flows_key(p), start, user)
          end
          if redis.call('HINCRBY', FS, 'c' .. p, 1) == 1 then
            redis.call('HSET', FS, 's' .. p, now)
          end
          redis.call('HSET', strides_key(p), user, stride)
          redis.call('RPUSH', flow_key(p, user), job)
        end

        -- Takes the job out wherever it is in its flow; false when it is not in the fair lane.
        local function fair_remove(job)
          local p, _, _, user = meta(job)
          if p == nil then return false end
          local flow = flow_key(p, user)
          redis.call('LREM', flow, 1, job)
          redis.call('HDEL', FJ, job)
          redis.call('HINCRBY', FS, 'c' .. p, -1)
          if redis.call('LLEN', flow) == 0 then
            forget_flow(p, user, tonumber(redis.call('ZSCORE', flows_key(p), user)), tonumber(redis.call('HGET', FS, 'v' .. p) or '0'))
          end
          return true
        end

        -- Where the job stands: {jobs ahead without the other flows of its level (the levels that
        -- go first, the flow's own jobs before it), its flow's pass, stride, user, its index, then
        -- user, pass, stride and length of each other flow of the level that may go before it};
        -- nil when it is not in the fair lane.
        local function fair_look(st, job, step)
          local p, _, _, user = meta(job)
          if p == nil then return nil end
          local index = redis.call('LPOS', flow_key(p, user), job)
          local pass = redis.call('ZSCORE', flows_key(p), user)
          local stride = redis.call('HGET', strides_key(p), user) or tostring(SCALE)
          local e = effective(st, p, step)
          local ahead = index
          for q = 0, 9 do
            if q ~= p and count(st, q) > 0 and before(st, q, effective(st, q, step), p, e) then
              ahead = ahead + count(st, q)
            end
          end
          local out = {ahead, pass, stride, user, index}
          -- Its turn's pass (in doubles: a bound, one stride wide; C# counts exactly).
          local bound = tonumber(pass) + index * tonumber(stride) + SCALE
          local others = redis.call('ZRANGEBYSCORE', flows_key(p), '-inf', bound, 'WITHSCORES')
          for i = 1, #others, 2 do
            local u = others[i]
            if u ~= user then
              out[#out + 1] = u
              out[#out + 1] = others[i + 1]
              out[#out + 1] = redis.call('HGET', strides_key(p), u) or tostring(SCALE)
              out[#out + 1] = redis.call('LLEN', flow_key(p, u))
            end
          end
          return out
        end

        """;

    /// <summary>
    /// KEYS: holders, tat, spent prefix, lane, fj. ARGV: job, credits, spec (6). {1, 0, 0} taken
    /// (or already reserved for it), {0, 0, 1} others wait (in either lane), else as <see cref="Take"/>.
    /// </summary>
    public const string Acquire = Prelude + Take + """
        local a = spec(3)
        if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
          redis.call('ZADD', KEYS[1], now + a[1], ARGV[1])
          return {1, 0, 0}
        end
        if redis.call('LLEN', KEYS[4]) > 0 or redis.call('HLEN', KEYS[5]) > 0 then
          return {0, 0, 1}
        end
        return take(ARGV[1], tonumber(ARGV[2]), a)
        """;

    /// <summary>
    /// KEYS: lane, parked, held, lanes, resource prefix. ARGV: job, credits, resource, handler,
    /// fair (1/0), user, priority, stride. Parks once: in its flow when fair, else at the end of
    /// the list (as <c>credits|job|handler</c>: the handler says which stream it goes back to); the
    /// lane's copy counts as held; the resource is listed in <c>lanes</c> (so a lane is never forgotten).
    /// </summary>
    public const string Park = Prelude + "local P = KEYS[5]\n" + FairLane + """
        if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
          if ARGV[5] == '1' then
            fair_park(ARGV[1], ARGV[2], ARGV[4], ARGV[6], tonumber(ARGV[7]), ARGV[8])
          else
            redis.call('RPUSH', KEYS[1], ARGV[2] .. '|' .. ARGV[1] .. '|' .. ARGV[4])
          end
          redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
          redis.call('SADD', KEYS[4], ARGV[3])
        end
        return 1
        """;

    /// <summary>
    /// KEYS: lane, parked, stream prefix (its handler's stream is the prefix and the handler),
    /// lanes, resource prefix. ARGV: resource. Sends a whole lane on without limits (its resource
    /// left the map; the copies only move), the list first, then the flows in their order, and
    /// forgets it. Returns how many moved.
    /// </summary>
    public const string Drain = Prelude + "local P = KEYS[5]\n" + FairLane + """
        local entries = redis.call('LRANGE', KEYS[1], 0, -1)
        for _, entry in ipairs(entries) do
          local bar = string.find(entry, '|', 1, true)
          local second = string.find(entry, '|', bar + 1, true)
          redis.call('XADD', KEYS[3] .. string.sub(entry, second + 1), '*', 'm', string.sub(entry, bar + 1, second - 1))
        end
        local moved = #entries
        local st = levels()
        while true do
          local job, p, _, handler, user = fair_head(st, REBASE)
          if not job then break end
          fair_pop(st, job, p, user)
          redis.call('XADD', KEYS[3] .. handler, '*', 'm', job)
          moved = moved + 1
        end
        redis.call('DEL', KEYS[1], KEYS[2], FJ, FS)
        for p = 0, 9 do redis.call('DEL', flows_key(p), strides_key(p), left_key(p)) end
        redis.call('SREM', KEYS[4], ARGV[1])
        return moved
        """;

    /// <summary>
    /// KEYS: holders, tat, spent prefix, lane, parked, stream prefix, resource prefix. ARGV: spec
    /// (6), limit, fair (1/0), age step ms. Moves the lane's next jobs into their handlers' job
    /// streams while capacity allows, reserving it for each (the copy only moves: the held count
    /// stays). Returns {woken, wait ms of the next job (-1: lane empty)}.
    /// </summary>
    public const string Wake = Prelude + "local P = KEYS[7]\n" + FairLane + Take + """
        local a = spec(1)
        local limit, fair, step = tonumber(ARGV[7]), ARGV[8] == '1', tonumber(ARGV[9])
        local st = levels()
        local woken = 0
        while woken < limit do
          local job, p, credits, handler, user = fair_head(st, step)
          local head = redis.call('LINDEX', KEYS[4], 0)
          if not head and not job then return {woken, -1} end
          if head and (fair or not job) then
            local bar = string.find(head, '|', 1, true)
            local second = string.find(head, '|', bar + 1, true)
            job, credits, handler = string.sub(head, bar + 1, second - 1), string.sub(head, 1, bar - 1), string.sub(head, second + 1)
            local r = take(job, tonumber(credits), a)
            if r[1] == 0 then return {woken, r[2]} end
            redis.call('LPOP', KEYS[4])
          else
            local r = take(job, tonumber(credits), a)
            if r[1] == 0 then return {woken, r[2]} end
            fair_pop(st, job, p, user)
          end
          redis.call('SREM', KEYS[5], job)
          redis.call('XADD', KEYS[6] .. handler, '*', 'm', job)
          woken = woken + 1
        end
        return {woken, 0}
        """;

    /// <summary>
    /// KEYS: lane, parked, held, resource prefix. ARGV: job, its list entry (credits|job|handler).
    /// Takes a parked job out of the lane (its request was cancelled) and drops the lane's copy.
    /// Returns 1, or 0 when it was not parked.
    /// </summary>
    public const string Remove = Prelude + "local P = KEYS[4]\n" + FairLane + """
        if not fair_remove(ARGV[1]) and redis.call('LREM', KEYS[1], 1, ARGV[2]) == 0 then
          return 0
        end
        redis.call('SREM', KEYS[2], ARGV[1])
        if redis.call('HINCRBY', KEYS[3], ARGV[1], -1) <= 0 then
          redis.call('HDEL', KEYS[3], ARGV[1])
        end
        return 1
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

    /// <summary>KEYS: holders, lane, spent prefix, fj. ARGV: period ms. Returns {slots held, jobs parked, spent this period, period end ms}.</summary>
    public const string State = Prelude + """
        local period = tonumber(ARGV[1])
        local window = math.floor(now / period) * period
        return {redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf'), redis.call('LLEN', KEYS[2]) + redis.call('HLEN', KEYS[4]),
          tonumber(redis.call('GET', KEYS[3] .. window) or '0'), window + period}
        """;

    /// <summary>
    /// KEYS: lane, avg, spent prefix, resource prefix. ARGV: job or empty, its list entry
    /// (credits|job|handler), credits, budget, period, fair (1/0), age step ms. Returns {jobs
    /// parked, average run ms, budget wait ms, where: 0 not parked; 1 in the list, then its
    /// position; 2 in the flows, then <c>fair_look</c>'s answer with the list's length added to
    /// the jobs ahead when the list goes first}.
    /// </summary>
    public const string Look = Prelude + "local P = KEYS[4]\n" + FairLane + """
        local budget, period = tonumber(ARGV[4]), tonumber(ARGV[5])
        local wait = 0
        if budget >= 0 then
          local window = math.floor(now / period) * period
          local spent = tonumber(redis.call('GET', KEYS[3] .. window) or '0')
          if spent + tonumber(ARGV[3]) > budget then wait = window + period - now end
        end
        local listed, flowing = redis.call('LLEN', KEYS[1]), redis.call('HLEN', FJ)
        local out = {listed + flowing, tonumber(redis.call('GET', KEYS[2]) or '1000'), wait, 0}
        if ARGV[1] == '' then return out end
        local fair = ARGV[6] == '1'
        local at = redis.call('LPOS', KEYS[1], ARGV[2])
        if at then
          out[4], out[5] = 1, at + 1
          if not fair then out[5] = out[5] + flowing end
          return out
        end
        local look = fair_look(levels(), ARGV[1], tonumber(ARGV[7]))
        if not look then return out end
        if fair then look[1] = look[1] + listed end
        out[4] = 2
        for _, v in ipairs(look) do out[#out + 1] = v end
        return out
        """;
}
