using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Recon;

/// <summary>
/// Makes every request finish. At start it dispatches what a crash left queued; then, every
/// <c>ReconInterval</c>, it requeues requests whose worker lost its lease (or fails them after
/// <c>MaxAttempts</c>, with a refund) and expires results past their expiration.
/// </summary>
public sealed class ReconService(Database database, SqliteWriter writer, IJobQueue queue, IOptions<SwitchboardOptions> options, ILogger<ReconService> logger)
    : BackgroundService
{
    private static readonly TimeSpan IdleQueuedAfter = TimeSpan.FromSeconds(5);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        List<(JobMessage Message, long? NotBefore)> queued;
        using (var connection = database.Open())
        {
            queued = ReconStore.Queued(connection);
        }
        var now = Clock.NowMs();
        foreach (var (message, notBefore) in queued)
        {
            queue.EnqueueLater(message, TimeSpan.FromMilliseconds(Math.Max(0, (notBefore ?? now) - now)));
        }
        if (queued.Count > 0)
        {
            logger.LogInformation("Recovered {Count} queued requests from the store", queued.Count);
        }
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReconInterval);
        do
        {
            try
            {
                await RepairOnce();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Recon pass failed; next pass in {Interval}", options.Value.ReconInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task RepairOnce()
    {
        var now = Clock.NowMs();
        var (requeued, failed) = await writer.WriteAsync(c => ReconStore.RecoverExpiredLeases(c, now));
        foreach (var message in requeued)
        {
            await queue.EnqueueAsync(message);
            logger.LogWarning("Requeued request {RequestId}: its lease expired", message.RequestId);
        }
        if (failed > 0)
        {
            logger.LogWarning("Failed {Count} requests whose lease expired on their last attempt", failed);
        }
        // Safety net for the in-process queue: when it is empty, a due queued request that has
        // not moved for a while has no message anywhere (lost between commit and enqueue, or a
        // timer that never fired). Sending one more is harmless: only one claim can win.
        if (queue.Depth == 0)
        {
            List<JobMessage> idle;
            using (var connection = database.Open())
            {
                idle = ReconStore.IdleQueued(connection, now, (long)IdleQueuedAfter.TotalMilliseconds);
            }
            foreach (var message in idle)
            {
                await queue.EnqueueAsync(message);
            }
            if (idle.Count > 0)
            {
                logger.LogWarning("Re-dispatched {Count} queued requests that had no message", idle.Count);
            }
        }
        var expired = await writer.WriteAsync(c => ReconStore.ExpireResults(c, now));
        if (expired > 0)
        {
            logger.LogInformation("Expired the results of {Count} requests", expired);
        }
    }
}
