using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Execution;

/// <summary>
/// Heartbeat for every job in flight in this process, in one writer unit per tick (and one touch
/// of their queue deliveries, so the queue does not reclaim them): a long job
/// keeps its lease and is never mistaken for a dead one; a job whose lease was lost (recon gave
/// it away, or it was cancelled elsewhere) is stopped. A renewal also moves the job's local
/// lease (<see cref="InFlightJobs"/>); a job whose renewals fail past it is stopped by that.
/// </summary>
public sealed class LeaseRenewer(InFlightJobs inFlight, Store store, IJobQueue queue, ExecutorIdentity identity, IOptions<SwitchboardOptions> options, ILogger<LeaseRenewer> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lease = TimeSpan.FromSeconds(options.Value.LeaseSeconds);
        using var timer = new PeriodicTimer(lease / 3);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var jobs = inFlight.Snapshot.ToList();
            if (jobs.Count == 0)
            {
                continue;
            }
            try
            {
                // Before the statement is sent: the local lease counts the time the renewal takes.
                var sentAt = Environment.TickCount64;
                var until = Clock.NowMs() + (long)lease.TotalMilliseconds;
                var lost = await store.WriteAsync(c => jobs.Where(j => !RequestLifecycle.Renew(c, j.RequestId, j.Run, j.Attempt, identity.Owner, until)).ToList());
                // A job that finished while the renewal was on its way no longer holds its lease
                // by design: only one still in flight has lost it.
                foreach (var job in lost.Where(j => inFlight.TryGet(j.RequestId, out var current) && ReferenceEquals(current, j)))
                {
                    logger.LogWarning("Lease of request {RequestId} lost; stopping its handler", job.RequestId);
                    inFlight.Cancel(job.RequestId);
                }
                var kept = jobs.Except(lost).ToList();
                foreach (var job in kept)
                {
                    inFlight.Renewed(job, sentAt);
                }
                await queue.TouchAsync([.. kept.Select(j => j.Delivery)]);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Lease renewal failed; will retry next tick");
            }
        }
    }
}
