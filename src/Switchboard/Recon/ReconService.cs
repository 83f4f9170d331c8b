using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Recon;

/// <summary>
/// Makes every request finish. Every <c>ReconInterval</c>, while this process is the active
/// recon: requeues requests whose worker lost its lease (or fails them after <c>MaxAttempts</c>,
/// with a refund), dispatches queued requests of which the queue holds no message (lost between
/// commit and dispatch, a queue that restarted empty, the in-process queue of a dead process),
/// and expires results past their expiration.
/// </summary>
public sealed class ReconService(
    Store store, RequestLifecycle lifecycle, IJobQueue queue, IReconLeadership leadership, ReconRepairs repairs, IOptions<SwitchboardOptions> options, ILogger<ReconService> logger,
    HealthWatch watch, AppConfigs configs)
    : BackgroundService
{
    // Per handler with queued requests and no live executor: since when this leader has seen it so.
    private readonly Dictionary<string, long> _unservedSince = new(StringComparer.Ordinal);

    /// <summary>A queued request younger than this may still be on its way to the queue: not checked yet.</summary>
    private static readonly TimeSpan DispatchGrace = TimeSpan.FromSeconds(5);

    private const int MaxChecked = 10_000;

    /// <summary>
    /// How often the check of queued requests against the queue starts again from the oldest.
    /// Between sweeps a pass checks only the requests queued since the last it checked: a message
    /// found held stays held until its job is done, unless the queue loses it (a Redis restarted
    /// empty), which a pass that fails or finds a message missing also takes as a reason to sweep
    /// again at once. Without it every pass read the whole backlog (its oldest 10,000), the
    /// largest share of PostgreSQL's time under a backlog.
    /// </summary>
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(30);

    // The seq after which the next pass checks; 0: from the oldest (a new sweep).
    private long _checkedThrough;
    private long? _sweepStarted;
    private bool _wasLeader;

    // Before it, nothing this process accepted can be on its way to the queue.
    private readonly long _startedAt = Clock.NowMs();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReconInterval);
        logger.LogInformation("Recon started: a pass every {Interval} while this process is the active recon", options.Value.ReconInterval);
        do
        {
            if (!leadership.IsLeader)
            {
                _wasLeader = false;
                continue;
            }
            try
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                await RepairOnce(firstPass: !_wasLeader);
                Observability.SwitchboardMetrics.ReconPass.Observe(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
                _wasLeader = true;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Recon pass failed; next pass in {Interval}", options.Value.ReconInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <param name="firstPass">
    /// The first pass of a new leader checks at once every queued request untouched since this
    /// process started, without waiting for the dispatch grace: after a restart their messages
    /// are gone. The requests accepted since (the api answers before recon's first pass) may still
    /// be on their way to the queue: they wait for the grace as on any pass.
    /// </param>
    public async Task RepairOnce(bool firstPass = false)
    {
        var now = Clock.NowMs();
        var (requeued, failed) = await lifecycle.RecoverExpiredLeasesAsync(now, leaseBefore: now);
        foreach (var message in requeued)
        {
            await queue.EnqueueAsync(message);
            repairs.Record(ReconRepairs.Requeued);
            logger.LogInformation("Recon requeued request {RequestId} (run {Run}): its worker's lease expired", message.RequestId, message.Run);
        }
        foreach (var id in failed)
        {
            repairs.Record(ReconRepairs.FailedLost);
            logger.LogInformation("Recon failed request {RequestId} with worker_lost: its lease expired on its last attempt", id);
        }
        if (firstPass)
        {
            // After an upgrade, copies in the old queue layout would count as held and nobody reads them.
            await queue.ForgetLegacyCopiesAsync();
        }
        var graced = now - (long)DispatchGrace.TotalMilliseconds;
        await DispatchMissing(now, firstPass ? Math.Max(_startedAt, graced) : graced, firstPass);
        await FailUnserved(now);
        var expired = await lifecycle.ExpireResultsAsync(now);
        foreach (var id in expired)
        {
            repairs.Record(ReconRepairs.Expired);
            logger.LogInformation("Recon expired request {RequestId}: its results are past their expiration", id);
        }
    }

    /// <summary>
    /// Requests queued for a handler that no live executor has served for the maximum wait
    /// (<c>recon.no_executor_fail_s</c>) fail with <c>no_executor</c>, refunded: both the request
    /// and the handler's absence must be that old, as this leader saw it (a new leader starts
    /// counting afresh: later, never sooner). The live executors are those of the watch's last
    /// snapshot (same interval, no second read of the registry); none yet, or an unreadable
    /// registry, decides nothing.
    /// </summary>
    private async Task FailUnserved(long now)
    {
        if (watch.Last?.Executors is not { } executors)
        {
            return;
        }
        var served = executors.SelectMany(e => e.Handlers).ToHashSet(StringComparer.Ordinal);
        List<string> waiting;
        using (var connection = store.Open())
        {
            waiting = ReconStore.QueuedHandlers(connection);
        }
        var unserved = waiting.Where(h => !served.Contains(h)).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _unservedSince.Keys.Where(h => !unserved.Contains(h)).ToList())
        {
            _unservedSince.Remove(gone);
        }
        var maxWait = (long)configs.Recon.NoExecutorFail.TotalMilliseconds;
        foreach (var handler in unserved)
        {
            var since = _unservedSince.TryAdd(handler, now) ? now : _unservedSince[handler];
            if (now - since < maxWait)
            {
                continue;
            }
            var failed = await lifecycle.FailUnservedAsync(handler, now - maxWait, now);
            repairs.Record(ReconRepairs.FailedNoExecutor, failed.Count);
            if (failed.Count > 0)
            {
                logger.LogWarning("Recon failed {Count} queued requests of handler {Handler} with no_executor: no live executor has served it for {Seconds:0} s", failed.Count, handler, maxWait / 1000.0);
            }
        }
    }

    /// <summary>Sends a message for every queued request of which the queue holds none. A duplicate is harmless: only one claim can win.</summary>
    private async Task DispatchMissing(long now, long updatedBefore, bool firstPass)
    {
        if (firstPass || _sweepStarted is not { } started || now - started >= (long)SweepInterval.TotalMilliseconds)
        {
            (_checkedThrough, _sweepStarted) = (0, now);
        }
        List<(JobMessage Message, long? NotBefore, long Seq)> queued;
        using (var connection = store.Open())
        {
            queued = ReconStore.Queued(connection, updatedBefore, _checkedThrough, MaxChecked);
        }
        if (queued.Count == 0)
        {
            return;
        }
        IReadOnlyList<JobMessage> missing;
        try
        {
            missing = await queue.MissingAsync([.. queued.Select(q => q.Message)]);
        }
        catch
        {
            _checkedThrough = 0;
            throw;
        }
        // Fewer than asked: this sweep reached the newest; a full page: the next pass goes on from here.
        _checkedThrough = queued[^1].Seq;
        if (missing.Count == 0)
        {
            return;
        }
        // A queue that lost messages may have lost older ones too: the next pass sweeps again.
        _sweepStarted = null;
        // The candidates themselves (a queue may answer with bare id:run messages): user and priority.
        var lost = missing.ToHashSet();
        var found = queued.Where(q => lost.Contains(q.Message)).ToList();
        List<JobMessage> messages;
        using (var connection = store.Open())
        {
            messages = ReconStore.WithWeights(connection, [.. found.Select(q => q.Message)]);
        }
        for (var i = 0; i < found.Count; i++)
        {
            var message = messages[i];
            queue.EnqueueLater(message, TimeSpan.FromMilliseconds(Math.Max(0, (found[i].NotBefore ?? now) - now)));
            repairs.Record(ReconRepairs.Dispatched);
            logger.LogInformation("Recon dispatched request {RequestId} (run {Run}) again: it is queued and the queue held no message for it", message.RequestId, message.Run);
        }
    }
}
