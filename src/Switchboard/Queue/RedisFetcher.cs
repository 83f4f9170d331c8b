using StackExchange.Redis;
using Switchboard.Observability;

namespace Switchboard.Queue;

/// <summary>
/// Brings stream entries to the workers of this process. One loop, on a connection of its own,
/// runs <c>XREADGROUP … BLOCK</c> on the streams of the handlers this process serves (one
/// command for all of them, so an idle executor blocks once, and each stream gives up to the
/// demand: a busy handler's backlog never hides another's entries): a blocking command on the shared multiplexer would stall
/// every other command queued behind it on that socket. It asks for no more entries than
/// workers are waiting right now, so an executor never hoards entries another one could run,
/// and a crashed executor strands only what its idle workers had asked for.
/// <para>
/// With fairness on, jobs wait in fair flows (<see cref="RedisFairScripts"/>): before each read
/// the loop records how many workers wait (per handler it serves) and stages the flows for them,
/// sent alongside the read (a blocked read wakes when the staging's entries arrive); enqueues and
/// the delayed mover stage against those records too. With fairness off it drains, at each reclaim
/// tick, whatever flows a fair process left, so a switch of the option strands nothing.
/// </para>
/// <para>
/// Between reads it reclaims (<c>XAUTOCLAIM</c>) entries another consumer has left idle longer
/// than the lease: their executor died, or lost its connection long enough not to heartbeat.
/// </para>
/// <para>
/// An entry of a format newer than this build reads (its <c>v</c>, Storage/Formats.cs) is
/// neither run nor acked: it stays pending, still counted as held (so recon sends no second
/// copy), and the reclaim gives it to another consumer once it was idle for the lease. This
/// executor may meet it again then, once per lease, never in a tight loop (a claimed entry's
/// idle time starts over); <see cref="NewerFormatLog"/> says so.
/// </para>
/// </summary>
internal sealed class RedisFetcher : IAsyncDisposable
{
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly IConnectionMultiplexer _shared;
    private readonly RedisSettings _settings;
    private readonly RedisQueueKeys _keys;
    private readonly string _consumer;
    private readonly string[] _handlers;
    private readonly RedisKey[] _streams;
    private readonly RedisKey[] _stageKeys;
    private readonly RedisKey[] _demandKeys;
    private readonly long _reclaimAfterMs;
    private readonly TimeSpan _reclaimInterval;
    private readonly RedisJobQueueOptions _options;
    private readonly ILogger _logger;
    private readonly RedisOutageLog _outage;
    private readonly NewerFormatLog _newer;

    private readonly SemaphoreSlim _wake = new(0);
    private readonly DeliveryHandoff _handoff;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private IConnectionMultiplexer? _reader;

    public RedisFetcher(
        IConnectionMultiplexer shared, RedisSettings settings, RedisQueueKeys keys, string consumer, IReadOnlyList<string> handlers,
        TimeSpan reclaimAfter, RedisJobQueueOptions options, ILogger logger)
    {
        _shared = shared;
        _settings = settings;
        _keys = keys;
        _consumer = consumer;
        _handlers = [.. handlers];
        _streams = [.. handlers.Select(keys.Stream)];
        _stageKeys = [.. handlers.SelectMany(h => new[] { keys.Stream(h), keys.Fair(h), keys.Demand(h) })];
        _demandKeys = [.. handlers.Select(keys.Demand)];
        _reclaimAfterMs = Math.Max(1, (long)reclaimAfter.TotalMilliseconds);
        _reclaimInterval = options.ReclaimInterval ?? TimeSpan.FromMilliseconds(Math.Clamp(reclaimAfter.TotalMilliseconds / 4, 50, 5000));
        _options = options;
        _logger = logger;
        _outage = new RedisOutageLog(logger, "reading the job stream");
        _newer = new NewerFormatLog(logger);
        _handoff = new DeliveryHandoff(() => _wake.Release());
        _loop = Task.Run(FetchLoop);
    }

    public ValueTask<JobDelivery> ReadAsync(CancellationToken cancellationToken) => _handoff.TakeAsync(cancellationToken);

    private async Task FetchLoop()
    {
        var stop = _stop.Token;
        var backoff = MinBackoff;
        var groupReady = false;
        var nextReclaim = 0L;
        var reclaimCursors = _streams.Select(_ => (RedisValue)"0-0").ToArray();
        var recorded = 0;
        if (_streams.Length == 0)
        {
            // Serves no handler: nothing to read (the executor refused to start like this; a test may not).
            await Delay(Timeout.InfiniteTimeSpan, stop);
            return;
        }
        while (!stop.IsCancellationRequested)
        {
            var demand = Math.Min(_handoff.Demand, _options.MaxBatch);
            if (demand <= 0)
            {
                if (recorded > 0 && _options.Fair)
                {
                    // No worker waits: the flows are not staged for this executor any more.
                    try
                    {
                        await Stage(0, drain: false);
                        recorded = 0;
                    }
                    catch (Exception ex) when (!stop.IsCancellationRequested)
                    {
                        _outage.Failed(ex);
                    }
                }
                await WaitForDemand(stop);
                continue;
            }
            try
            {
                _reader ??= await ConnectReader();
                if (!groupReady)
                {
                    await CreateGroup();
                    groupReady = true;
                }
                if (Environment.TickCount64 >= nextReclaim)
                {
                    nextReclaim = Environment.TickCount64 + (long)_reclaimInterval.TotalMilliseconds;
                    if (!_options.Fair)
                    {
                        await Stage(0, drain: true);
                    }
                    var reclaimed = 0;
                    for (var i = 0; i < _streams.Length; i++)
                    {
                        (var count, reclaimCursors[i]) = await Reclaim(i, demand, reclaimCursors[i]);
                        reclaimed += count;
                    }
                    if (reclaimed > 0)
                    {
                        continue;
                    }
                }
                // BLOCK no longer than the reclaim interval, so abandoned entries wait no longer than that.
                var block = (long)Math.Max(1, Math.Min(_options.BlockTime.TotalMilliseconds, _reclaimInterval.TotalMilliseconds));
                if (_options.Fair)
                {
                    // Sent before the read, on the shared connection: whatever it stages wakes the read.
                    var staging = Stage(demand, drain: false);
                    recorded = demand;
                    try
                    {
                        await ReadGroup(demand, block);
                    }
                    finally
                    {
                        await staging;
                    }
                }
                else
                {
                    await ReadGroup(demand, block);
                }
                _outage.Succeeded();
                backoff = MinBackoff;
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
            {
                // Redis restarted empty (or the stream was deleted): the group goes with it.
                _logger.LogWarning("The consumer group of the job stream is gone (Redis restarted empty?); creating it again");
                groupReady = false;
            }
            catch (Exception ex) when (!stop.IsCancellationRequested)
            {
                _outage.Failed(ex);
                await Delay(backoff, stop);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Records this consumer's waiting workers on each handler it serves (<paramref name="drain"/>: none, everything staged) and stages.</summary>
    private Task Stage(int demand, bool drain) =>
        _shared.GetDatabase().ScriptEvaluateAsync(RedisFairScripts.Stage, _stageKeys,
        [
            RedisQueueKeys.Group, _options.AgeStepMs, drain ? "" : _consumer, demand,
            (long)Math.Max(_options.DemandHolds.TotalMilliseconds, 3 * _options.BlockTime.TotalMilliseconds), drain ? 1 : 0,
        ]);

    private async Task<IConnectionMultiplexer> ConnectReader()
    {
        RedisThreadPool.EnsureHeadroom();
        var options = _settings.Options.Clone();
        options.ClientName = $"{options.ClientName ?? "switchboard"}:reader";
        // A blocked read must not count as a timed-out command.
        var minimum = (int)_options.BlockTime.TotalMilliseconds + 5000;
        options.AsyncTimeout = Math.Max(options.AsyncTimeout, minimum);
        options.SyncTimeout = Math.Max(options.SyncTimeout, minimum);
        return await ConnectionMultiplexer.ConnectAsync(options);
    }

    private async Task CreateGroup()
    {
        foreach (var stream in _streams)
        {
            try
            {
                // From the start of the stream ("0"), not "$": messages enqueued before any executor
                // started (or after Redis restarted empty, before this) must be read too.
                await _shared.GetDatabase().StreamCreateConsumerGroupAsync(stream, RedisQueueKeys.Group, "0", createStream: true);
                _logger.LogInformation("Created consumer group {Group} on {Stream}", RedisQueueKeys.Group, (string?)stream);
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
            {
                // Another executor (or an earlier start) created it.
            }
        }
    }

    private async Task ReadGroup(int count, long blockMs)
    {
        // The typed API has no BLOCK; the keys are passed as RedisKeys so a cluster routes them.
        var args = new List<object> { "GROUP", RedisQueueKeys.Group, _consumer, "COUNT", count, "BLOCK", blockMs, "STREAMS" };
        args.AddRange(_streams.Cast<object>());
        args.AddRange(_streams.Select(_ => (object)">"));
        var result = await _reader!.GetDatabase().ExecuteAsync("XREADGROUP", args);
        if (result.IsNull || result.Length == 0)
        {
            return;
        }
        // RESP2: [[key, entries], …]; RESP3 (a map, flattened): [key, entries, …].
        var pairs = result[0].Resp2Type == ResultType.Array
            ? Enumerable.Range(0, result.Length).Select(i => (Key: result[i][0], Entries: result[i][1]))
            : Enumerable.Range(0, result.Length / 2).Select(i => (Key: result[2 * i], Entries: result[(2 * i) + 1]));
        foreach (var (key, entries) in pairs.ToList())
        {
            var handler = HandlerOf((string?)key);
            for (var i = 0; i < entries.Length; i++)
            {
                var entry = entries[i];
                var id = (string?)entry[0];
                var fields = entry.Length > 1 && !entry[1].IsNull ? (RedisValue[]?)entry[1] : null;
                await Deliver(handler, id, FieldOf(fields, RedisQueueKeys.Field), FieldOf(fields, RedisQueueKeys.Version));
            }
        }
    }

    private string HandlerOf(string? streamKey)
    {
        var index = Array.FindIndex(_streams, s => (string?)s == streamKey);
        return index >= 0 ? _handlers[index] : throw new InvalidOperationException($"XREADGROUP answered for a stream not asked for: {streamKey}");
    }

    private async Task<(int Count, RedisValue Cursor)> Reclaim(int stream, int count, RedisValue cursor)
    {
        var result = await _shared.GetDatabase().StreamAutoClaimAsync(_streams[stream], RedisQueueKeys.Group, _consumer, _reclaimAfterMs, cursor, count);
        var delivered = 0;
        foreach (var entry in result.ClaimedEntries)
        {
            // An entry whose data was deleted comes back with no fields (Redis before 7).
            // Counts only what went to a worker: an entry left for a newer build is not work done here.
            delivered += await Deliver(_handlers[stream], (string?)entry.Id, (string?)entry[RedisQueueKeys.Field], (string?)entry[RedisQueueKeys.Version]) ? 1 : 0;
        }
        if (delivered > 0)
        {
            _logger.LogWarning("Reclaimed {Count} job stream entries of {Handler} idle for more than {Seconds:0.#} s (their executor died or stalled)", delivered, _handlers[stream], _reclaimAfterMs / 1000.0);
        }
        if (result.DeletedIds.Length > 0)
        {
            // Redis 7 drops them from the pending list itself. Their held count cannot be
            // corrected (the message text went with the entry): only a trim or XDEL by hand does this.
            _logger.LogWarning("{Count} pending job stream entries had been deleted from the stream; dropped", result.DeletedIds.Length);
        }
        // "0-0" once the scan went round: the next reclaim starts over.
        return (delivered, result.NextStartId.IsNull ? "0-0" : result.NextStartId);
    }

    /// <summary>True when the entry went to a worker.</summary>
    /// <param name="format">The entry's <c>v</c>: none is format 1.</param>
    private async Task<bool> Deliver(string handler, string? id, string? text, string? format)
    {
        if (id is null)
        {
            return false;
        }
        if (format is not null && !(int.TryParse(format, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version) && version <= Formats.Message))
        {
            // A newer build wrote it (or something that is no format at all): whatever it holds is
            // not for this build to run, nor to ack. It stays pending for a consumer that reads it.
            _newer.Left(NewerFormatLog.Message, format, $"{id} of {handler} ({text})");
            return false;
        }
        if (JobMessage.TryParse(text, handler, out var message))
        {
            _handoff.Offer(new JobDelivery(message, id));
            return true;
        }
        // An entry whose data is gone (Redis before 7 returns these from XAUTOCLAIM) or that is
        // not ours: nobody can run it, so it leaves the pending list instead of coming back forever.
        _logger.LogWarning("Dropped job stream entry {Id}: no message in it", id);
        await _shared.GetDatabase().ScriptEvaluateAsync(RedisScripts.Ack, [_keys.Stream(handler), _keys.Held], [RedisQueueKeys.Group, id, text ?? ""]);
        return false;
    }

    private static string? FieldOf(RedisValue[]? fields, string name)
    {
        if (fields is null)
        {
            return null;
        }
        for (var i = 0; i + 1 < fields.Length; i += 2)
        {
            if (fields[i] == name)
            {
                return fields[i + 1];
            }
        }
        return null;
    }

    private async Task WaitForDemand(CancellationToken stop)
    {
        try
        {
            await _wake.WaitAsync(TimeSpan.FromSeconds(1), stop);
        }
        catch (OperationCanceledException)
        {
            // Stopping: the loop condition ends it.
        }
    }

    private static async Task Delay(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, stop);
        }
        catch (OperationCanceledException)
        {
            // Stopping: the loop condition ends it.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        // A blocked read ends within BlockTime; what it brought is released below.
        await _loop.WaitAsync(_options.BlockTime + TimeSpan.FromSeconds(6)).ContinueWith(_ => { }, TaskScheduler.Default);
        await ReleaseUnread(_handoff.Close());
        if (_options.Fair && _demandKeys.Length > 0)
        {
            try
            {
                // Its workers wait no more: staging for them would leave entries nobody asked for.
                await _shared.GetDatabase().ScriptEvaluateAsync(RedisFairScripts.Forget, _demandKeys, [_consumer]);
            }
            catch (Exception ex)
            {
                _logger.LogDebug("Could not forget this consumer's demand (it expires on its own): {Error}", ex.Message);
            }
        }
        if (_reader is not null)
        {
            await _reader.DisposeAsync();
        }
        _stop.Dispose();
        _wake.Dispose();
    }

    /// <summary>Entries fetched but never handed to a worker go back to the stream now, not after a lease.</summary>
    private async Task ReleaseUnread(List<JobDelivery> unread)
    {
        var calls = new List<Task>();
        var database = _shared.GetDatabase();
        foreach (var delivery in unread)
        {
            calls.Add(database.ScriptEvaluateAsync(RedisScripts.Release, [_keys.Stream(delivery.Message.Handler)], [RedisQueueKeys.Group, (string)delivery.Receipt!, delivery.Message.ToString()]));
        }
        try
        {
            await Task.WhenAll(calls);
        }
        catch (Exception ex)
        {
            _logger.LogWarning("Could not give back {Count} unread job stream entries; they are reclaimed after the lease: {Error}", calls.Count, ex.Message);
        }
    }
}
