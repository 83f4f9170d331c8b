using System.Collections.Concurrent;
using System.Data.Common;
using Switchboard.Observability;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Resources;

/// <summary>
/// The executor's side of the gate, for one job at a time: take its capacity (waiting briefly,
/// else parking it), give the slot back when its handler returns, and give back a reservation
/// that a cancelled job will not use. Failures of the gate never let a job run ungated.
/// </summary>
public sealed class ResourceSlots(
    IResourceGate gate, ResourceNeeds needs, ResourceWaker waker, HeldSlots held, GateHealth health, Store store, IJobQueue queue, ILogger<ResourceSlots> logger)
{
    /// <summary>How long a worker may wait for a slot or a rate token before its job is parked.</summary>
    private static readonly TimeSpan BriefWait = TimeSpan.FromMilliseconds(100);

    /// <summary>When the gate cannot be reached, the job comes back after this long.</summary>
    private static readonly TimeSpan GateRetry = TimeSpan.FromSeconds(2);

    /// <summary>
    /// When this process parked each job (by message), so that its wait in the lane counts in
    /// switchboard_resource_wait_seconds when it comes back here. A job woken on another
    /// executor counts there only its brief wait; its entry here is dropped once the table is
    /// full and the entry older than <see cref="ParkedForgetAfter"/>.
    /// </summary>
    private readonly ConcurrentDictionary<string, long> _parkedAt = new(StringComparer.Ordinal);

    private const int ParkedMax = 10_000;

    private static readonly TimeSpan ParkedForgetAfter = TimeSpan.FromHours(1);

    /// <summary>
    /// Takes the job's capacity. When there is none, <paramref name="giveBack"/> returns the
    /// claim (queued, the attempt not counted) and the job is parked in its resource's lane,
    /// holding no worker; the gate sends it again in its turn. When the gate cannot be reached
    /// the claim is given back the same way and the job comes back after a pause (fail closed).
    /// False: the caller acks the delivery and is done with the job.
    /// </summary>
    public async Task<bool> AcquireOrParkAsync(ResourceNeed need, JobMessage job, Func<Task> giveBack)
    {
        var started = Environment.TickCount64;
        try
        {
            if (await TryAcquire(need, job))
            {
                held.Hold(need, job);
                var now = Environment.TickCount64;
                var since = _parkedAt.TryRemove(job.ToString(), out var parked) ? parked : started;
                SwitchboardMetrics.ResourceWait.WithLabels(need.Name).Observe((now - since) / 1000.0);
                logger.LogDebug("Acquired {Resource} for {RequestId}", need.Name, job.RequestId);
                return true;
            }
            await giveBack();
            await gate.ParkAsync(need, job);
            RememberParked(job, started);
            waker.Parked();
            logger.LogDebug("Parked {RequestId} run {Run} for resource {Resource}", job.RequestId, job.Run, need.Name);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not DbException)
        {
            health.Unreachable(ex, logger);
            await giveBack();
            queue.EnqueueLater(job, GateRetry);
        }
        return false;
    }

    private void RememberParked(JobMessage job, long at)
    {
        if (_parkedAt.Count >= ParkedMax)
        {
            var before = Environment.TickCount64 - (long)ParkedForgetAfter.TotalMilliseconds;
            foreach (var (key, parked) in _parkedAt)
            {
                if (parked < before)
                {
                    _parkedAt.TryRemove(key, out _);
                }
            }
            if (_parkedAt.Count >= ParkedMax)
            {
                return;
            }
        }
        // A job parked again (woken, then beaten to its capacity) keeps its first time.
        _parkedAt.TryAdd(job.ToString(), at);
    }

    /// <summary>
    /// Parking costs two store writes and a trip through the lane, which for short jobs costs
    /// more than the wait itself: a job that lacks only a slot (one is released here or
    /// elsewhere within milliseconds) or a rate token due within <see cref="BriefWait"/> waits
    /// that long in its worker first. Jobs already in the lane, or a spent budget, park at once.
    /// </summary>
    private async Task<bool> TryAcquire(ResourceNeed need, JobMessage job)
    {
        var until = Environment.TickCount64 + (long)BriefWait.TotalMilliseconds;
        while (true)
        {
            var answer = await gate.TryAcquireAsync(need, job);
            var left = TimeSpan.FromMilliseconds(until - Environment.TickCount64);
            if (answer.Acquired || answer.Missing is not (GateWait.Slot or GateWait.Rate) || left <= TimeSpan.Zero)
            {
                return answer.Acquired;
            }
            if (answer.Missing == GateWait.Rate)
            {
                if (answer.RetryAfter > left)
                {
                    return false;
                }
                await Task.Delay(answer.RetryAfter);
            }
            else
            {
                // Released here: woken at once; elsewhere: seen at the next look.
                await waker.WaitForReleaseAsync(TimeSpan.FromMilliseconds(Math.Min(20, left.TotalMilliseconds)));
            }
        }
    }

    /// <summary>Gives the slot back (null <paramref name="ran"/>: a reservation never used).</summary>
    public async Task ReleaseAsync(ResourceNeed need, JobMessage job, TimeSpan? ran)
    {
        held.Drop(job);
        try
        {
            await gate.ReleaseAsync(need, job, ran);
            waker.Released();
            logger.LogDebug("Released {Resource} for {RequestId}", need.Name, job.RequestId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The slot's lease runs out instead: capacity returns within lease_s.
            health.Unreachable(ex, logger);
        }
    }

    /// <summary>
    /// A message that claims nothing may still be a woken job with capacity reserved in its name
    /// (it was cancelled while it waited): once the request has finished, the reservation is
    /// given back at once instead of lapsing after <c>lease_s</c>.
    /// </summary>
    public async Task ForgetReservationAsync(JobMessage job)
    {
        if (needs.All.Count == 0)
        {
            return;
        }
        string? handler = null, endpoint = null;
        using (var connection = store.Open())
        {
            // Only a finished request: a queued or running one may hold the slot rightfully (this
            // message is then a duplicate of one being worked on). Its endpoint's resource, when
            // the profile names one, is where the reservation was made.
            using var command = connection.Sql(
                "SELECT handler, endpoint FROM requests WHERE id = @id AND run = @run AND status NOT IN ('queued', 'running')",
                ("@id", job.RequestId), ("@run", job.Run));
            using var reader = command.ExecuteReader();
            if (reader.Read())
            {
                (handler, endpoint) = (reader.GetString(0), reader.StringOrNull(1));
            }
        }
        if (handler is not null && needs.For(handler, endpoint) is { } need)
        {
            await ReleaseAsync(need, job, ran: null);
        }
    }
}
