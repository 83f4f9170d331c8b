using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Recon;

/// <summary>
/// An embedded server's first act after the schema is ready, before its executor claims
/// anything: with the data folder locked exclusively (<see cref="DataFolderLock"/>), every
/// <c>running</c> row belongs to a previous instance that died (kill -9, power loss), so each is
/// recovered at once, as recon recovers an expired lease (queued again and dispatched, or failed
/// with <c>worker_lost</c> and a refund once its attempts are used up), instead of waiting out
/// a lease that no process will ever renew. Registered only with the exclusive lock: in a
/// distributed deployment a <c>running</c> row may be another live process's, and leases decide.
/// </summary>
public sealed class PreviousInstanceTakeback(RequestLifecycle lifecycle, IJobQueue queue, ILogger<PreviousInstanceTakeback> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var now = Clock.NowMs();
        var (requeued, failed) = await lifecycle.RecoverExpiredLeasesAsync(now, leaseBefore: long.MaxValue);
        foreach (var message in requeued)
        {
            await queue.EnqueueAsync(message, cancellationToken);
        }
        if (requeued.Count + failed.Count > 0)
        {
            logger.LogWarning(
                "Took back {Requeued} request(s) left running by the previous instance on this data folder (queued again) and failed {Failed} whose attempts were used up (worker_lost, refunded)",
                requeued.Count, failed.Count);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
