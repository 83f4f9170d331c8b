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

    private readonly ReconSweep _sweep = new(TimeSpan.FromSeconds(30));

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
    /// counting afresh: later, never sooner). The live executors and the handlers with queued
    /// requests are those of the watch's last snapshot (same interval: no second read of the
    /// registry, nor a second count of the whole backlog); none yet, or an unreadable registry,
    /// decides nothing.
    /// </summary>
    private async Task FailUnserved(long now)
    {
        if (watch.Last is not { Executors: { } executors } snapshot)
        {
            return;
        }
        var served = executors.SelectMany(e => e.Handlers).ToHashSet(StringComparer.Ordinal);
        var unserved = snapshot.QueuesByHandler.Where(q => q.Depth > 0 && !served.Contains(q.Name)).Select(q => q.Name).ToHashSet(StringComparer.Ordinal);
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
        var (after, limit) = _sweep.Next(now, firstPass);
        List<(JobMessage Message, long? NotBefore, long Seq)> queued;
        using (var connection = store.Open())
        {
            queued = ReconStore.Queued(connection, updatedBefore, after, limit);
        }
        if (queued.Count == 0)
        {
            _sweep.Read(0, limit, 0, 0);
            return;
        }
        IReadOnlyList<JobMessage> missing;
        try
        {
            missing = await queue.MissingAsync([.. queued.Select(q => q.Message)]);
        }
        catch
        {
            _sweep.Failed();
            throw;
        }
        _sweep.Read(queued.Count, limit, queued[^1].Seq, missing.Count);
        if (missing.Count == 0)
        {
            return;
        }
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
