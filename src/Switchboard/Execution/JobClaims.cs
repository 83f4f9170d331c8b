using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Lifecycle;
using Switchboard.Observability;
using Switchboard.Queue;
using Switchboard.Resources;
using Switchboard.Storage;

namespace Switchboard.Execution;

/// <summary>
/// A delivered message's claim (queued → running, leased to this process), what becomes of a
/// message that claims nothing, and the claimed jobs this process tracks while it runs them.
/// </summary>
public sealed class JobClaims(
    RequestLifecycle lifecycle, IJobQueue queue, ResourceSlots slots, InFlightJobs inFlight, ExecutorIdentity identity, IOptions<SwitchboardOptions> options,
    ILogger<JobClaims> logger)
{
    private readonly NewerFormatLog _newer = new(logger);

    public string Owner => identity.Owner;

    /// <summary>
    /// The claim, or no job when the message claims nothing: the caller then acks it, unless
    /// <c>Leave</c> says the row is of a newer format than this build reads (the message stays
    /// un-acked, for a newer executor: the Redis queue hands it on after the lease).
    /// </summary>
    public async Task<(ClaimedJob? Job, bool Leave)> ClaimAsync(JobMessage message)
    {
        var now = Clock.NowMs();
        var job = await lifecycle.ClaimAsync(message, identity.Owner, now + (options.Value.LeaseSeconds * 1000L), now);
        if (job is not null)
        {
            return (job, false);
        }
        // Duplicate, stale or cancelled: someone else owns what happens next. Only a message
        // that came early for a retry (timers and the wall clock drift apart) is kept, for later.
        var miss = await lifecycle.ClaimMissAsync(message, now);
        if (miss.DueIn is { } wait)
        {
            queue.EnqueueLater(message, TimeSpan.FromMilliseconds(wait));
        }
        else
        {
            await slots.ForgetReservationAsync(message);
        }
        if (miss.NewerFormat is { } format)
        {
            _newer.Left(NewerFormatLog.Request, format.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{message.RequestId} run {message.Run}");
        }
        return (null, miss.NewerFormat is not null);
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
