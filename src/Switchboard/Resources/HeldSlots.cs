using System.Collections.Concurrent;
using Switchboard.Queue;

namespace Switchboard.Resources;

/// <summary>
/// The resource slots this process's running jobs hold: taken when a job gets its capacity
/// (<see cref="ResourceSlots"/>), dropped when its handler returns; the waker renews their
/// leases. Kept here, not read off the executor's jobs, so Resources needs nothing above it.
/// </summary>
public sealed class HeldSlots
{
    private readonly ConcurrentDictionary<JobMessage, ResourceNeed> _held = new();

    public void Hold(ResourceNeed need, JobMessage job) => _held[job] = need;

    public void Drop(JobMessage job) => _held.TryRemove(job, out _);

    public List<(ResourceNeed Need, JobMessage Job)> Snapshot() => [.. _held.Select(h => (h.Value, h.Key))];
}
