using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Observability;
using Switchboard.Queue;

namespace Switchboard.Execution;

/// <summary>A job this process is running right now.</summary>
public sealed class InFlightJob(string requestId, int run, int attempt, JobDelivery delivery) : IDisposable
{
    public string RequestId { get; } = requestId;

    public int Run { get; } = run;

    public int Attempt { get; } = attempt;

    /// <summary>The queue delivery being worked on: the heartbeat keeps it from being reclaimed.</summary>
    public JobDelivery Delivery { get; } = delivery;

    public Queue.JobMessage Message => Delivery.Message;

    /// <summary>The resource slot this job holds while its handler runs (renewed by the waker), if its handler has one.</summary>
    public Resources.ResourceNeed? Resource { get; set; }

    /// <summary>Cancelled when the job must stop early: the client cancelled, or the lease was lost or lapsed.</summary>
    public CancellationTokenSource Abort { get; } = new();

    // Environment.TickCount64 at which this process's view of the lease ends. A monotonic clock:
    // a stall (SIGSTOP, a long GC pause, a VM frozen) counts, a wall-clock step does not.
    private long _leaseDeadline = long.MaxValue;

    /// <summary>Whether this process's view of the lease has ended: no upstream call may start or go on.</summary>
    public bool LeaseLapsed => Environment.TickCount64 >= Volatile.Read(ref _leaseDeadline);

    /// <summary>
    /// The lease now runs to <paramref name="sentAt"/> (taken before the claim or renew
    /// statement was sent, so the time it took counts against the lease) plus
    /// <paramref name="usable"/>; <see cref="Abort"/> is cancelled then, unless renewed before.
    /// </summary>
    public void LeaseFrom(long sentAt, TimeSpan usable)
    {
        var deadline = sentAt + (long)usable.TotalMilliseconds;
        Volatile.Write(ref _leaseDeadline, deadline);
        try
        {
            Abort.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64)));
        }
        catch (ObjectDisposedException)
        {
            // Finished while its renewal was on the way: nothing left to stop.
        }
    }

    /// <summary>Stops here (cancelling <see cref="Abort"/>) when the lease has lapsed, even if its timer has not fired yet.</summary>
    public void ThrowIfLeaseLapsed()
    {
        if (LeaseLapsed)
        {
            Abort.Cancel();
            Abort.Token.ThrowIfCancellationRequested();
        }
    }

    public void Dispose() => Abort.Dispose();
}

/// <summary>
/// The jobs running in this process: the lease renewer heartbeats them, and a cancel reaching
/// this process stops the handler at once instead of at its next heartbeat.
/// <para>
/// Each job also has a local lease: the store's lease less <c>LeaseMargin</c>, counted on this
/// process's monotonic clock from before the claim (then from before each renewal). When it
/// lapses (the process stalled, or the store could not be reached to renew) the job is stopped
/// before recon could have given it to another worker, and no handler call starts for it: so
/// one request's upstream is called by one process at a time, unless a process stalls longer
/// than the margin between its check and its call. Its conditional outcome write, if any, still
/// decides whether anything is stored.
/// </para>
/// </summary>
public sealed class InFlightJobs(IOptions<SwitchboardOptions> options)
{
    private readonly ConcurrentDictionary<string, InFlightJob> _jobs = new(StringComparer.Ordinal);

    public ICollection<InFlightJob> Snapshot => _jobs.Values;

    /// <summary>The part of a lease a job may use: <c>LeaseSeconds</c> less <c>LeaseMargin</c>.</summary>
    public TimeSpan UsableLease { get; } = options.Value.UsableLease;

    /// <summary>Tracks a job whose claim statement was sent at <paramref name="claimSentAt"/> (<see cref="Environment.TickCount64"/>).</summary>
    public void Add(InFlightJob job, long claimSentAt)
    {
        job.LeaseFrom(claimSentAt, UsableLease);
        Add(job);
    }

    /// <summary>A renewal sent at <paramref name="sentAt"/> succeeded: the job's local lease runs from then.</summary>
    public void Renewed(InFlightJob job, long sentAt) => job.LeaseFrom(sentAt, UsableLease);

    // switchboard_jobs_in_flight follows the dictionary: up on a new entry, down when one leaves
    // (a replaced entry's own Remove finds nothing, so it is not counted twice).
    private void Add(InFlightJob job)
    {
        if (_jobs.TryAdd(job.RequestId, job))
        {
            SwitchboardMetrics.JobsInFlight.Inc();
        }
        else
        {
            _jobs[job.RequestId] = job;
        }
    }

    public void Remove(InFlightJob job)
    {
        if (_jobs.TryRemove(new KeyValuePair<string, InFlightJob>(job.RequestId, job)))
        {
            SwitchboardMetrics.JobsInFlight.Dec();
        }
    }

    /// <summary>The job of <paramref name="requestId"/> running in this process, if any (a dictionary lookup).</summary>
    public bool TryGet(string requestId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out InFlightJob? job) =>
        _jobs.TryGetValue(requestId, out job);

    public void Cancel(string requestId)
    {
        if (_jobs.TryGetValue(requestId, out var job))
        {
            try
            {
                job.Abort.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Finished in the meantime: nothing left to stop.
            }
        }
    }
}
