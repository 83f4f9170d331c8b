using System.Threading.Channels;
using StackExchange.Redis;
using Switchboard.Fairness;

namespace Switchboard.Queue;

/// <summary>
/// Sends enqueued messages to Redis off the caller's path: callers drop a message into an
/// in-process channel and return at once; one loop drains it in batches and sends each batch as
/// a few pipelined script calls (into the message's fair flow, or XADD when fairness is off, or
/// ZADD, + HINCRBY held per message; <see cref="RedisFairScripts.Enqueue"/> then stages the flows
/// for the waiting workers), so thousands of messages a second cost a handful of round trips, not one each.
/// <para>
/// When Redis is down or too slow the batch is dropped, with one warning per outage: the store
/// still says queued and Redis holds no copy, so recon's <see cref="IJobQueue.MissingAsync"/>
/// finds the message and dispatches it again. A submit never waits for, or fails because of, Redis.
/// </para>
/// </summary>
internal sealed class RedisDispatcher : IAsyncDisposable
{
    /// <summary>Messages per script call: large enough to amortize the round trip, small enough not to stall Redis.</summary>
    private const int ChunkSize = 128;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisQueueKeys _keys;
    private readonly int _maxBatch;
    private readonly RedisJobQueueOptions _options;
    private readonly RedisOutageLog _outage;
    private readonly Channel<Outgoing> _channel = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly Task _loop;

    // Delayed members must be unique (a sorted set keeps one of equal members): process nonce + counter.
    private readonly string _nonce = Guid.NewGuid().ToString("N")[..8];
    private long _sequence;

    public RedisDispatcher(IConnectionMultiplexer redis, RedisQueueKeys keys, RedisJobQueueOptions options, ILogger logger)
    {
        _redis = redis;
        _keys = keys;
        _options = options;
        _maxBatch = Math.Max(1, options.MaxBatch);
        _outage = new RedisOutageLog(logger, "enqueue");
        _loop = Task.Run(SendLoop);
    }

    /// <summary>Hands a message over for sending; false only after disposal (the message is then recon's to repair).</summary>
    public bool Post(JobMessage message, TimeSpan delay)
    {
        var delayMs = delay <= TimeSpan.Zero ? 0 : Math.Max(1, (long)Math.Ceiling(delay.TotalMilliseconds));
        var member = delayMs > 0 ? $"{_nonce}{Interlocked.Increment(ref _sequence):x}{FormatMark(Formats.Message)}/{message}" : null;
        return _channel.Writer.TryWrite(new Outgoing(message.ToString(), message.Handler, delayMs, member, null, message.UserId ?? "",
            Priorities.Clamp(message.Priority), FairOrder<JobMessage>.Scale / Math.Clamp(message.Weight, 1, FairOrder<JobMessage>.MaxWeight)));
    }

    /// <summary>A delayed member's format, after its nonce (<see cref="RedisScripts.MoveDue"/> puts it in the entry): none for format 1.</summary>
    private static string FormatMark(int format) => format > 1 ? $".{format}" : "";

    /// <summary>Completes when everything posted before it was sent (or dropped).</summary>
    public Task FlushAsync()
    {
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_channel.Writer.TryWrite(new Outgoing("", "", 0, null, flushed, "", 0, 0)))
        {
            flushed.TrySetResult();
        }
        return flushed.Task;
    }

    private async Task SendLoop()
    {
        var batch = new List<Outgoing>(_maxBatch);
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < _maxBatch && reader.TryRead(out var item))
            {
                batch.Add(item);
            }
            await Send(batch.Where(o => o.Flushed is null).ToList());
            foreach (var marker in batch.Where(o => o.Flushed is not null))
            {
                marker.Flushed!.TrySetResult();
            }
        }
    }

    private async Task Send(List<Outgoing> messages)
    {
        if (messages.Count == 0)
        {
            return;
        }
        if (!_redis.IsConnected)
        {
            // Fail fast: waiting for a timeout per batch would only grow the channel.
            _outage.Failed("not connected", messages.Count);
            return;
        }
        var database = _redis.GetDatabase();
        // The chunks are pipelined: all are sent before the first reply is awaited. One handler's
        // messages per call (its stream and delayed set are the script's keys).
        var calls = new List<(Task Call, int Count)>();
        foreach (var group in messages.GroupBy(m => m.Handler, StringComparer.Ordinal))
        {
            if (_options.Fair)
            {
                RedisKey[] fairKeys = [_keys.Stream(group.Key), _keys.Delayed(group.Key), _keys.Held, _keys.Handlers, _keys.Fair(group.Key), _keys.Demand(group.Key)];
                foreach (var chunk in group.Chunk(ChunkSize))
                {
                    calls.Add((SafeCall(() => database.ScriptEvaluateAsync(RedisFairScripts.Enqueue, fairKeys, FairArgs(group.Key, chunk))), chunk.Length));
                }
                continue;
            }
            RedisKey[] keys = [_keys.Stream(group.Key), _keys.Delayed(group.Key), _keys.Held, _keys.Handlers];
            foreach (var chunk in group.Chunk(ChunkSize))
            {
                var args = new RedisValue[2 + (chunk.Length * 3)];
                args[0] = group.Key;
                args[1] = Formats.Message;
                for (var i = 0; i < chunk.Length; i++)
                {
                    args[2 + (i * 3)] = chunk[i].Text;
                    args[3 + (i * 3)] = chunk[i].DelayMs;
                    args[4 + (i * 3)] = chunk[i].Member ?? "";
                }
                calls.Add((SafeCall(() => database.ScriptEvaluateAsync(RedisScripts.Enqueue, keys, args)), chunk.Length));
            }
        }
        var dropped = 0;
        Exception? error = null;
        foreach (var (call, count) in calls)
        {
            try
            {
                await call;
            }
            catch (Exception ex)
            {
                // Whatever went wrong (connection, timeout, a script error), the loop must live on.
                error ??= ex;
                dropped += count;
            }
        }
        if (error is null)
        {
            _outage.Succeeded();
        }
        else
        {
            _outage.Failed(error, dropped);
        }
    }

    private RedisValue[] FairArgs(string handler, Outgoing[] chunk)
    {
        var args = new RedisValue[4 + (chunk.Length * 6)];
        args[0] = handler;
        args[1] = Formats.Message;
        args[2] = RedisQueueKeys.Group;
        args[3] = _options.AgeStepMs;
        for (var i = 0; i < chunk.Length; i++)
        {
            var at = 4 + (i * 6);
            args[at] = chunk[i].Text;
            args[at + 1] = chunk[i].DelayMs;
            args[at + 2] = chunk[i].Member ?? "";
            args[at + 3] = chunk[i].User;
            args[at + 4] = chunk[i].Priority;
            args[at + 5] = chunk[i].Stride;
        }
        return args;
    }

    // A command may also fail before it returns a task (e.g. the multiplexer was disposed).
    private static Task SafeCall(Func<Task> call)
    {
        try
        {
            return call();
        }
        catch (Exception ex)
        {
            return Task.FromException(ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        // What was posted before shutdown still gets its chance; a dead Redis fails fast.
        await _loop.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private readonly record struct Outgoing(string Text, string Handler, long DelayMs, string? Member, TaskCompletionSource? Flushed, string User, int Priority, long Stride);
}
