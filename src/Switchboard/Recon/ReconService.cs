using Microsoft.Extensions.Options;
using Switchboard.Hosting;
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
    Store store, IJobQueue queue, IReconLeadership leadership, IOptions<SwitchboardOptions> options, ILogger<ReconService> logger)
    : BackgroundService
{
    /// <summary>A queued request younger than this may still be on its way to the queue: not checked yet.</summary>
    private static readonly TimeSpan DispatchGrace = TimeSpan.FromSeconds(5);

    private const int MaxChecked = 10_000;
    private bool _wasLeader;

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
                await RepairOnce(firstPass: !_wasLeader);
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
    /// The first pass of a new leader checks every queued request at once, without waiting for
    /// the dispatch grace: after a restart, nothing queued is on its way anywhere.
    /// </param>
    public async Task RepairOnce(bool firstPass = false)
    {
        var now = Clock.NowMs();
        var (requeued, failed) = await store.WriteAsync(c => ReconStore.RecoverExpiredLeases(c, now));
        foreach (var message in requeued)
        {
            await queue.EnqueueAsync(message);
            logger.LogWarning("Requeued request {RequestId}: its lease expired", message.RequestId);
        }
        if (failed > 0)
        {
            logger.LogWarning("Failed {Count} requests whose lease expired on their last attempt", failed);
        }
        await DispatchMissing(now, firstPass ? now : now - (long)DispatchGrace.TotalMilliseconds);
        var expired = await store.WriteAsync(c => ReconStore.ExpireResults(c, now));
        if (expired > 0)
        {
            logger.LogInformation("Expired the results of {Count} requests", expired);
        }
    }

    /// <summary>Sends a message for every queued request of which the queue holds none. A duplicate is harmless: only one claim can win.</summary>
    private async Task DispatchMissing(long now, long updatedBefore)
    {
        List<(JobMessage Message, long? NotBefore)> queued;
        using (var connection = store.Open())
        {
            queued = ReconStore.Queued(connection, updatedBefore, MaxChecked);
        }
        if (queued.Count == 0)
        {
            return;
        }
        var missing = (await queue.MissingAsync([.. queued.Select(q => q.Message)])).ToHashSet();
        foreach (var (message, notBefore) in queued.Where(q => missing.Contains(q.Message)))
        {
            queue.EnqueueLater(message, TimeSpan.FromMilliseconds(Math.Max(0, (notBefore ?? now) - now)));
        }
        if (missing.Count > 0)
        {
            logger.LogWarning("Dispatched {Count} queued requests of which the queue held no message", missing.Count);
        }
    }
}
