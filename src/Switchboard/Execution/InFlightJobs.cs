using System.Collections.Concurrent;
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

    /// <summary>Cancelled when the job must stop early: the client cancelled, or the lease was lost.</summary>
    public CancellationTokenSource Abort { get; } = new();

    public void Dispose() => Abort.Dispose();
}

/// <summary>
/// The jobs running in this process: the lease renewer heartbeats them, and a cancel reaching
/// this process stops the handler at once instead of at its next heartbeat.
/// </summary>
public sealed class InFlightJobs
{
    private readonly ConcurrentDictionary<string, InFlightJob> _jobs = new(StringComparer.Ordinal);

    public ICollection<InFlightJob> Snapshot => _jobs.Values;

    // switchboard_jobs_in_flight follows the dictionary: up on a new entry, down when one leaves
    // (a replaced entry's own Remove finds nothing, so it is not counted twice).
    public void Add(InFlightJob job)
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
