using Switchboard.Fairness;
namespace Switchboard.Queue;

/// <summary>
/// The fair order of <see cref="FairOrder{T}"/> in Lua, for the Redis queue: jobs wait in flows
/// (one list per priority and user of a handler) and are staged into the handler's stream, in
/// that order, only while the stream's undelivered entries are below what the executors'
/// waiting workers ask for, so the stream never holds a backlog in front of a newcomer.
/// <para>
/// Keys of a handler (<c>B</c> = <see cref="RedisQueueKeys.Fair"/>, all under the prefix's hash
/// tag; a handler id holds no <c>:</c>, so they cannot collide):
/// <c>B</c> hash (<c>v0…v9</c> each level's virtual time, <c>s0…s9</c> since when a level waits,
/// <c>n0…n9</c> its jobs); <c>B:lvl:p</c> sorted set of level p's users by pass; <c>B:q:p:user</c> list of a
/// flow's texts (<c>id:run</c>); <c>B:stride</c> hash <c>p:user</c> → stride; <c>B:left</c> hash
/// <c>p:user</c> → where an emptied flow left off; <c>B:dmeta</c> hash delayed member →
/// <c>p:stride:user</c>; <c>B:demand</c> hash consumer → <c>workers:expires ms:pending then</c>.
/// </para>
/// <para>
/// Numbers: Lua's are doubles, exact below 2^53; the strides are computed in C#
/// (<see cref="FairOrder{T}.Scale"/> ÷ weight) and passed in, and every number written to Redis
/// is formatted with <c>%.0f</c> (Lua's own conversion keeps 14 digits only). Passes grow by a
/// stride (7.2 × 10^11 at weight 1) per turn: once a level's virtual time reaches 2^52 its passes,
/// left-off marks and virtual time are lowered by it (<c>rebase</c>), which changes no comparison
/// (passes of different levels are never compared: the virtual time is per level, as in
/// <see cref="FairOrder{T}"/>), so they stay exact.
/// </para>
/// </summary>
internal static class RedisFairScripts
{
    /// <summary>Jobs staged per call at most: a call stays short; the caller calls again.</summary>
    public const int StageLimit = 1000;

    private const string Lib = """
        local SCALE = 720720000000
        local REBASE = 4503599627370496
        local function num(x) return string.format('%.0f', x) end

        -- Ordinal (byte) order of two texts, as the sorted set orders equal scores; Lua's own
        -- < follows the server's locale.
        local function lt(a, b)
          local n = math.min(#a, #b)
          for i = 1, n do
            local x, y = string.byte(a, i), string.byte(b, i)
            if x ~= y then return x < y end
          end
          return #a < #b
        end

        local function load_state(B)
          local f = redis.call('HMGET', B, 's0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9',
            'n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8', 'n9',
            'v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9')
          local st = { vt = {}, since = {}, n = {} }
          for p = 0, 9 do
            st.since[p] = tonumber(f[1 + p]) or 0
            st.n[p] = tonumber(f[11 + p]) or 0
            st.vt[p] = tonumber(f[21 + p]) or 0
          end
          return st
        end

        local function save_state(B, st)
          local args = {}
          for p = 0, 9 do
            args[#args + 1] = 'v' .. p
            args[#args + 1] = num(st.vt[p])
            args[#args + 1] = 's' .. p
            args[#args + 1] = num(st.since[p])
            args[#args + 1] = 'n' .. p
            args[#args + 1] = num(st.n[p])
          end
          redis.call('HSET', B, unpack(args))
        end

        local function waiting(st)
          local w = 0
          for p = 0, 9 do w = w + st.n[p] end
          return w
        end

        local function effective(st, p, now, age)
          local e = p + math.floor(math.max(0, now - st.since[p]) / age)
          if e > 9 then e = 9 end
          return e
        end

        -- FairOrder.Before: higher effective priority, then the longer wait, then the higher own priority.
        local function before(st, p, e, q, eq)
          if e ~= eq then return e > eq end
          if st.since[p] ~= st.since[q] then return st.since[p] < st.since[q] end
          return p > q
        end

        local function best_level(st, now, age)
          local best, be
          for p = 0, 9 do
            if st.n[p] > 0 then
              local e = effective(st, p, now, age)
              if best == nil or before(st, p, e, best, be) then best, be = p, e end
            end
          end
          return best
        end

        -- FairOrder.Add: a flow that starts takes max(virtual time, where it left off).
        local function add(B, st, text, user, p, stride, now, first)
          local lvl = B .. ':lvl:' .. p
          local fk = p .. ':' .. user
          if not redis.call('ZSCORE', lvl, user) then
            local start = st.vt[p]
            local left = redis.call('HGET', B .. ':left', fk)
            if left then
              redis.call('HDEL', B .. ':left', fk)
              left = tonumber(left)
              if left > start then start = left end
            end
            redis.call('ZADD', lvl, num(start), user)
          end
          if st.n[p] == 0 then st.since[p] = now end
          redis.call('HSET', B .. ':stride', fk, stride)
          if first then
            redis.call('LPUSH', B .. ':q:' .. fk, text)
          else
            redis.call('RPUSH', B .. ':q:' .. fk, text)
          end
          st.n[p] = st.n[p] + 1
        end

        -- The level of a flow key (p:user; p is one digit).
        local function level_of(fk) return tonumber(string.sub(fk, 1, 1)) end

        -- Lowers level p's passes, left-off marks and virtual time by its virtual time: the same order, smaller numbers.
        local function rebase(B, st, p)
          local shift = st.vt[p]
          local lvl = B .. ':lvl:' .. p
          local flows = redis.call('ZRANGE', lvl, 0, -1, 'WITHSCORES')
          for i = 1, #flows, 2 do
            redis.call('ZADD', lvl, num(tonumber(flows[i + 1]) - shift), flows[i])
          end
          local left = redis.call('HGETALL', B .. ':left')
          for i = 1, #left, 2 do
            if level_of(left[i]) == p then
              redis.call('HSET', B .. ':left', left[i], num(tonumber(left[i + 1]) - shift))
            end
          end
          st.vt[p] = 0
        end

        -- FairOrder.TryDequeue on level p: the head of the flow with the lowest (pass, user).
        -- Nil when the level's records are gone (Redis lost them): its count is corrected.
        local function take(B, st, p, now)
          local lvl = B .. ':lvl:' .. p
          local head = redis.call('ZRANGE', lvl, 0, 0, 'WITHSCORES')
          if #head == 0 then
            st.n[p] = 0
            return nil
          end
          local user, pass = head[1], tonumber(head[2])
          local fk = p .. ':' .. user
          local q = B .. ':q:' .. fk
          local text = redis.call('LPOP', q)
          if not text then
            redis.call('ZREM', lvl, user)
            redis.call('HDEL', B .. ':stride', fk)
            return nil
          end
          if pass > st.vt[p] then st.vt[p] = pass end
          pass = pass + (tonumber(redis.call('HGET', B .. ':stride', fk)) or SCALE)
          st.since[p] = now
          st.n[p] = st.n[p] - 1
          if redis.call('LLEN', q) > 0 then
            redis.call('ZADD', lvl, num(pass), user)
          else
            redis.call('ZREM', lvl, user)
            redis.call('HDEL', B .. ':stride', fk)
            if pass > st.vt[p] then redis.call('HSET', B .. ':left', fk, num(pass)) end
            if redis.call('HLEN', B .. ':left') > 1024 then
              local left = redis.call('HGETALL', B .. ':left')
              for i = 1, #left, 2 do
                if tonumber(left[i + 1]) <= st.vt[level_of(left[i])] then redis.call('HDEL', B .. ':left', left[i]) end
              end
            end
          end
          if st.vt[p] >= REBASE then rebase(B, st, p) end
          return text
        end

        -- Entries in the stream not delivered yet (acked ones are deleted), and the pending ones per consumer.
        local function stream_counts(stream, group)
          local length = redis.call('XLEN', stream)
          local byConsumer = {}
          local summary = redis.pcall('XPENDING', stream, group)
          if type(summary) == 'table' and type(summary[1]) == 'number' then
            length = length - summary[1]
            if type(summary[4]) == 'table' then
              for _, c in ipairs(summary[4]) do byConsumer[c[1]] = tonumber(c[2]) end
            end
          end
          if length < 0 then length = 0 end
          return length, byConsumer
        end

        -- The workers waiting on this handler across executors: each consumer's last record less
        -- what was delivered to it since (its pending count grew); expired records are dropped.
        local function demand(D, byConsumer, now)
          local total = 0
          local records = redis.call('HGETALL', D)
          for i = 1, #records, 2 do
            local n, expires, pendingThen = string.match(records[i + 1], '^(%d+):(%d+):(%d+)$')
            if not n or tonumber(expires) < now then
              redis.call('HDEL', D, records[i])
            else
              local taken = (byConsumer[records[i]] or 0) - tonumber(pendingThen)
              if taken < 0 then taken = 0 end
              local left = tonumber(n) - taken
              if left > 0 then total = total + left end
            end
          end
          return total
        end

        -- Moves jobs from the flows into the stream in fair order while its undelivered entries
        -- are below the demand (all of them, up to the limit, when drain is set). Returns how many.
        local function stage(stream, B, D, group, now, age, drain, limit)
          local st = load_state(B)
          local left = waiting(st)
          if left == 0 then return 0 end
          local undelivered, byConsumer = stream_counts(stream, group)
          local want = limit
          if not drain then
            want = demand(D, byConsumer, now) - undelivered
            if want > limit then want = limit end
          end
          local moved = 0
          while moved < want and left > 0 do
            local p = best_level(st, now, age)
            if p == nil then break end
            local text = take(B, st, p, now)
            if text then
              redis.call('XADD', stream, '*', 'm', text)
              moved = moved + 1
            end
            left = waiting(st)
          end
          save_state(B, st)
          return moved
        end

        """;

    /// <summary>
    /// KEYS: a handler's stream, delayed set, held, the handlers set, its fair base (<c>B</c>),
    /// its demand hash. ARGV: the handler, the format, the group, the age step ms, then 6-tuples
    /// (text, delay ms, delayed member, user, priority, stride). Each message goes to the tail of
    /// its flow (delay 0) or to the delayed set (its flow noted in <c>B:dmeta</c>), and counts one
    /// more copy held; then the flows are staged for the waiting workers. A format past 1 goes
    /// to the stream as before (flows hold format-1 texts only).
    /// </summary>
    public const string Enqueue = RedisScripts.EffectsReplication + RedisScripts.RedisNowMs + Lib + """
        local now = now_ms()
        local B, format, age = KEYS[5], ARGV[2], tonumber(ARGV[4])
        redis.call('SADD', KEYS[4], ARGV[1])
        local st = load_state(B)
        for i = 5, #ARGV, 6 do
          local text, delay, member = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
          local user, p, stride = ARGV[i + 3], tonumber(ARGV[i + 4]), ARGV[i + 5]
          if delay > 0 then
            redis.call('ZADD', KEYS[2], now + delay, member)
            redis.call('HSET', B .. ':dmeta', member, p .. ':' .. stride .. ':' .. user)
          elseif format ~= '1' then
            redis.call('XADD', KEYS[1], '*', 'm', text, 'v', format)
          else
            add(B, st, text, user, p, stride, now, false)
          end
          redis.call('HINCRBY', KEYS[3], text, 1)
        end
        save_state(B, st)
        stage(KEYS[1], B, KEYS[6], ARGV[3], now, age, false, 1000000)
        return (#ARGV - 4) / 6
        """;

    /// <summary>
    /// KEYS: quadruples (a handler's delayed set, its stream, its fair base, its demand hash).
    /// ARGV: limit, group, age step ms. Moves up to <c>limit</c> due members of each set to the
    /// HEAD of their flow (a retry keeps its place; the earliest due first), the flow read from
    /// <c>B:dmeta</c> (a member without one, an older build's, goes to the flow of no user at
    /// priority 5), then stages; a member past format 1 (<c>nonce.format/text</c>) goes to the
    /// stream with its <c>v</c>, as before (flows hold format-1 texts). The held count stays.
    /// Returns the most moved from one set.
    /// </summary>
    public const string MoveDue = RedisScripts.EffectsReplication + RedisScripts.RedisNowMs + Lib + """
        local now, most, age = now_ms(), 0, tonumber(ARGV[3])
        for k = 1, #KEYS, 4 do
          local B = KEYS[k + 2]
          local due = redis.call('ZRANGEBYSCORE', KEYS[k], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
          if #due > 0 then
            local st = load_state(B)
            local flowed = {}
            for _, member in ipairs(due) do
              local slash = string.find(member, '/', 1, true)
              local dot = slash and string.find(string.sub(member, 1, slash - 1), '.', 1, true)
              if dot then
                -- Past format 1 (nonce.format/text): to the stream with its format, as before flows.
                redis.call('XADD', KEYS[k + 1], '*', 'm', string.sub(member, slash + 1), 'v', string.sub(member, dot + 1, slash - 1))
                redis.call('HDEL', B .. ':dmeta', member)
              else
                flowed[#flowed + 1] = member
              end
            end
            for i = #flowed, 1, -1 do
              local member = flowed[i]
              local slash = string.find(member, '/', 1, true)
              local text = string.sub(member, (slash or 0) + 1)
              local meta = redis.call('HGET', B .. ':dmeta', member)
              local p, stride, user = 5, SCALE, ''
              if meta then
                local a, b, u = string.match(meta, '^(%d+):(%d+):(.*)$')
                if a then p, stride, user = tonumber(a), b, u end
                redis.call('HDEL', B .. ':dmeta', member)
              end
              add(B, st, text, user, p, stride, now, true)
            end
            redis.call('ZREM', KEYS[k], unpack(due))
            save_state(B, st)
            stage(KEYS[k + 1], B, KEYS[k + 3], ARGV[2], now, age, false, 1000000)
          end
          if #due > most then most = #due end
        end
        return most
        """;

    /// <summary>
    /// KEYS: triples (a handler's stream, its fair base, its demand hash). ARGV: group, age step
    /// ms, consumer (empty: record nothing), its waiting workers, how long the record holds (ms),
    /// drain (1: stage everything regardless of demand, what a process with fairness off does
    /// with flows a fair one left). Records the consumer's demand (with its pending count, so
    /// later deliveries to it count against the record), then stages each handler's flows.
    /// Returns how many entries it staged in all.
    /// </summary>
    public const string Stage = RedisScripts.EffectsReplication + RedisScripts.RedisNowMs + Lib + """
        local now, age, consumer, drain = now_ms(), tonumber(ARGV[2]), ARGV[3], ARGV[6] == '1'
        local total = 0
        for k = 1, #KEYS, 3 do
          if consumer ~= '' then
            local _, byConsumer = stream_counts(KEYS[k], ARGV[1])
            redis.call('HSET', KEYS[k + 2], consumer,
              ARGV[4] .. ':' .. num(now + tonumber(ARGV[5])) .. ':' .. (byConsumer[consumer] or 0))
          end
          total = total + stage(KEYS[k], KEYS[k + 1], KEYS[k + 2], ARGV[1], now, age, drain, 1000)
        end
        return total
        """;

    /// <summary>KEYS: demand hashes. ARGV: consumer. Forgets the consumer's demand (it stops reading).</summary>
    public const string Forget = """
        for k = 1, #KEYS do redis.call('HDEL', KEYS[k], ARGV[1]) end
        return 0
        """;

    /// <summary>
    /// KEYS: pairs (a handler's stream, its fair base). ARGV: group. Per handler, the entries not
    /// delivered yet: the stream's undelivered ones plus the jobs in its flows.
    /// </summary>
    public const string Depth = Lib + """
        local depths = {}
        for k = 1, #KEYS, 2 do
          local undelivered = stream_counts(KEYS[k], ARGV[1])
          depths[#depths + 1] = undelivered + waiting(load_state(KEYS[k + 1]))
        end
        return depths
        """;

    /// <summary>
    /// KEYS: a handler's stream, its fair base. ARGV: group, age step ms, text, user, priority.
    /// <see cref="FairOrder{T}.PositionOf"/> for the message in its flow, plus the stream's
    /// undelivered entries (they all go first); -1 when the message is not in that flow.
    /// </summary>
    public const string Position = RedisScripts.RedisNowMs + Lib + """
        local now, age, text, user, p = now_ms(), tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
        local B = KEYS[2]
        local fk = p .. ':' .. user
        local index = redis.call('LPOS', B .. ':q:' .. fk, text)
        local lvl = B .. ':lvl:' .. p
        local pass = redis.call('ZSCORE', lvl, user)
        if not index or not pass then return -1 end
        pass = tonumber(pass)
        local st = load_state(B)
        local stride = tonumber(redis.call('HGET', B .. ':stride', fk)) or SCALE
        local e = effective(st, p, now, age)
        local ahead = index
        for o = 0, 9 do
          if o ~= p and st.n[o] > 0 and before(st, o, effective(st, o, now, age), p, e) then
            ahead = ahead + st.n[o]
          end
        end
        local turn = pass + index * stride
        local flows = redis.call('ZRANGEBYSCORE', lvl, '-inf', num(turn), 'WITHSCORES')
        for i = 1, #flows, 2 do
          local g = flows[i]
          if g ~= user then
            local gk = p .. ':' .. g
            local gs = tonumber(redis.call('HGET', B .. ':stride', gk)) or SCALE
            local span = turn - tonumber(flows[i + 1])
            local rest = math.fmod(span, gs)
            local turns = (span - rest) / gs + 1
            if rest == 0 and lt(user, g) then turns = turns - 1 end
            ahead = ahead + math.min(redis.call('LLEN', B .. ':q:' .. gk), turns)
          end
        end
        return ahead + stream_counts(KEYS[1], ARGV[1])
        """;
}
