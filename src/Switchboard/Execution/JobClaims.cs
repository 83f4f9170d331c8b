using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Resources;
using Switchboard.Storage;

namespace Switchboard.Execution;

/// <summary>
/// A delivered message's claim (queued → running, leased to this process), what becomes of a
/// message that claims nothing, and the claimed jobs this process tracks while it runs them.
/// </summary>
public sealed class JobClaims(
    RequestLifecycle lifecycle, IJobQueue queue, ResourceSlots slots, InFlightJobs inFlight, ExecutorIdentity identity, IOptions<SwitchboardOptions> options)
{
    public string Owner => identity.Owner;

    /// <summary>The claim, or null when the message claims nothing (the caller only acks it).</summary>
    public async Task<ClaimedJob?> ClaimAsync(JobMessage message)
    {
        var now = Clock.NowMs();
        var job = await lifecycle.ClaimAsync(message, identity.Owner, now + (options.Value.LeaseSeconds * 1000L), now);
        if (job is not null)
        {
            return job;
        }
        // Duplicate, stale or cancelled: someone else owns what happens next. Only a message
        // that came early for a retry (timers and the wall clock drift apart) is kept, for later.
        var dueIn = await lifecycle.DueInAsync(message, now);
        if (dueIn is { } wait)
        {
            queue.EnqueueLater(message, TimeSpan.FromMilliseconds(wait));
        }
        else
        {
            await slots.ForgetReservationAsync(message);
        }
        return null;
    }

    /// <summary>Tracked while it runs here: the heartbeat renews it, a cancel here stops it.</summary>
    /// <param name="claimSentAt">When the claim statement was sent (<see cref="Environment.TickCount64"/>): the local lease runs from then.</param>
    public InFlightJob Track(ClaimedJob job, JobDelivery delivery, long claimSentAt)
    {
        var tracked = new InFlightJob(job.RequestId, job.Run, job.Attempt, delivery);
        inFlight.Add(tracked, claimSentAt);
        return tracked;
    }

    public void Untrack(InFlightJob tracked) => inFlight.Remove(tracked);
}
