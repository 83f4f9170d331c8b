namespace Switchboard.Queue;

/// <summary>
/// The queue's Lua scripts. Each keeps the stream, the delayed set and the held counts in step
/// in one atomic step, so a copy is counted exactly while it exists. Times come from the Redis
/// clock (<c>TIME</c>), so processes with skewed clocks agree on when a delayed message is due.
/// StackExchange.Redis sends them as EVALSHA after the first call.
/// </summary>
internal static class RedisScripts
{
    // Redis before 7 replicates scripts verbatim unless told to replicate effects, and then
    // refuses a write after TIME. Redis 7 always replicates effects (the call is a no-op there).
    internal const string EffectsReplication = "if redis.replicate_commands then redis.replicate_commands() end\n";

    internal const string RedisNowMs = """
        local function now_ms()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end

        """;

    /// <summary>
    /// KEYS: one handler's stream and delayed set, held, the handlers set. ARGV: the handler, the
    /// messages' format (Storage/Formats.cs), then triples (text, delay ms, delayed member). Each
    /// message goes to the stream (delay 0) or to the delayed set, and counts one more copy held.
    /// A delayed member is <c>nonce/text</c> (<c>nonce.format/text</c> past format 1): unique,
    /// so two delayed copies are two members. An entry carries its format in <c>v</c> past format
    /// 1 only: a format-1 entry is what builds before formats wrote and read.
    /// </summary>
    public const string Enqueue = EffectsReplication + RedisNowMs + """
        local now
        local format = ARGV[2]
        redis.call('SADD', KEYS[4], ARGV[1])
        for i = 3, #ARGV, 3 do
          local text, delay = ARGV[i], tonumber(ARGV[i + 1])
          if delay > 0 then
            now = now or now_ms()
            redis.call('ZADD', KEYS[2], now + delay, ARGV[i + 2])
          elseif format == '1' then
            redis.call('XADD', KEYS[1], '*', 'm', text)
          else
            redis.call('XADD', KEYS[1], '*', 'm', text, 'v', format)
          end
          redis.call('HINCRBY', KEYS[3], text, 1)
        end
        return (#ARGV - 2) / 3
        """;

    /// <summary>
    /// KEYS: pairs (a handler's delayed set, its stream). ARGV: limit. Moves up to <c>limit</c>
    /// due members of each set into its stream (the copy only changes place: the held count
    /// stays). A member's format (<c>nonce.format/text</c>) goes into the entry's <c>v</c>.
    /// Returns the most moved from one set (a full one means: call again).
    /// </summary>
    public const string MoveDue = EffectsReplication + RedisNowMs + """
        local now, most = now_ms(), 0
        for k = 1, #KEYS, 2 do
          local due = redis.call('ZRANGEBYSCORE', KEYS[k], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
          for _, member in ipairs(due) do
            local slash = string.find(member, '/', 1, true)
            local text = string.sub(member, (slash or 0) + 1)
            local dot = slash and string.find(string.sub(member, 1, slash - 1), '.', 1, true)
            if dot then
              redis.call('XADD', KEYS[k + 1], '*', 'm', text, 'v', string.sub(member, dot + 1, slash - 1))
            else
              redis.call('XADD', KEYS[k + 1], '*', 'm', text)
            end
          end
          if #due > 0 then
            redis.call('ZREM', KEYS[k], unpack(due))
          end
          if #due > most then most = #due end
        end
        return most
        """;

    /// <summary>
    /// KEYS: stream, held. ARGV: group, entry id, text. Acks and deletes the entry (the stream
    /// keeps only live entries, so its length stays bounded) and counts one copy less, only if
    /// the ack found the entry pending: a second ack of a reclaimed entry, or an ack after Redis
    /// lost its data, must not discount a newer copy. The count never goes below zero.
    /// </summary>
    public const string Ack = """
        local acked = redis.pcall('XACK', KEYS[1], ARGV[1], ARGV[2])
        if type(acked) ~= 'number' then acked = 0 end
        redis.call('XDEL', KEYS[1], ARGV[2])
        if acked > 0 then
          if redis.call('HINCRBY', KEYS[2], ARGV[3], -1) <= 0 then
            redis.call('HDEL', KEYS[2], ARGV[3])
          end
        end
        return acked
        """;

    /// <summary>
    /// KEYS: stream. ARGV: group, entry id, text. Gives back an entry this consumer fetched but
    /// never handed to a worker (shutdown): a new entry replaces it at once, instead of waiting a
    /// lease for the reclaim. The held count is unchanged: the copy only moved. The new entry has
    /// the old one's fields (its format with them); the text alone if its data is gone.
    /// </summary>
    public const string Release = """
        local acked = redis.pcall('XACK', KEYS[1], ARGV[1], ARGV[2])
        if type(acked) ~= 'number' then acked = 0 end
        if acked > 0 then
          local entry = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
          local fields = {'m', ARGV[3]}
          if entry[1] and #entry[1][2] > 0 then fields = entry[1][2] end
          redis.call('XDEL', KEYS[1], ARGV[2])
          redis.call('XADD', KEYS[1], '*', unpack(fields))
        end
        return acked
        """;

    /// <summary>
    /// KEYS: streams. ARGV: group. Per stream, the entries not delivered yet: acked entries are
    /// deleted, so a stream holds the undelivered plus the pending ones.
    /// </summary>
    public const string Depth = """
        local depths = {}
        for k = 1, #KEYS do
          local length = redis.call('XLEN', KEYS[k])
          local pending = redis.pcall('XPENDING', KEYS[k], ARGV[1])
          if type(pending) == 'table' and type(pending[1]) == 'number' then
            length = length - pending[1]
          end
          if length < 0 then length = 0 end
          depths[k] = length
        end
        return depths
        """;

    /// <summary>
    /// KEYS: the legacy stream, the legacy delayed set, held. ARGV: the stream's field. Uncounts
    /// every copy in the one stream and delayed set of builds before one stream per handler (a
    /// delayed member is <c>nonce/text</c>), deletes both, and returns how many copies it forgot.
    /// Nothing reads those keys any more: a request whose only copy was there has none now, and
    /// recon sends it again to its handler's stream.
    /// </summary>
    public const string ForgetLegacy = """
        local forgotten = 0
        local function forget(text)
          if redis.call('HINCRBY', KEYS[3], text, -1) <= 0 then
            redis.call('HDEL', KEYS[3], text)
          end
          forgotten = forgotten + 1
        end
        if redis.call('TYPE', KEYS[1]).ok == 'stream' then
          for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
            local fields = entry[2]
            for i = 1, #fields, 2 do
              if fields[i] == ARGV[1] then forget(fields[i + 1]) end
            end
          end
          redis.call('DEL', KEYS[1])
        end
        if redis.call('TYPE', KEYS[2]).ok == 'zset' then
          for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
            local slash = string.find(member, '/', 1, true)
            forget(string.sub(member, (slash or 0) + 1))
          end
          redis.call('DEL', KEYS[2])
        end
        return forgotten
        """;
}
