using Switchboard.Config;
using Switchboard.Queue;
using Switchboard.Fairness;

namespace Switchboard.Resources;

/// <summary>What one job takes from its resource: a slot, a rate token, and its handler's integration credits.</summary>
public sealed record ResourceNeed(ResourceSpec Spec, long Credits)
{
    public string Name => Spec.Name;
}

/// <summary>What an acquisition lacked.</summary>
public enum GateWait { None = 0, Lane = 1, Slot = 2, Rate = 3, Budget = 4 }

/// <summary>The answer to an acquisition: taken, or not now (what was missing, and roughly when to look again).</summary>
public readonly record struct GateAnswer(bool Acquired, TimeSpan RetryAfter, GateWait Missing = GateWait.None);

/// <summary>A resource right now: slots held (running or reserved), jobs in its lane, integration credits spent this period.</summary>
public readonly record struct ResourceState(long InUse, long Waiting, long Spent, DateTimeOffset PeriodEnds);

/// <summary>Where a parked job stands: 1 is next.</summary>
public readonly record struct LanePosition(long Position, TimeSpan Eta);

/// <summary>
/// The shared limits of external APIs (the <c>resource_map</c> config), enforced for every
/// executor at once: at most <c>max_concurrent</c> jobs hold a slot, calls start no faster than
/// <c>rpm</c> (a smooth rate: GCRA with at most a second's worth of burst), and the integration
/// credits spent in a <c>period</c> stay within <c>credits</c>. All three are taken at once or
/// not at all. A job that cannot start is parked in its resource's lane (it holds no worker
/// meanwhile) and sent again, with its capacity reserved, when its turn comes. The lane's order is
/// <see cref="FairOrder{T}"/>'s (users in weighted round-robin within a priority, higher priorities
/// first, waiting levels aging up; one FIFO flow when <c>Switchboard:Fair</c> is off). Slots are
/// leases: a holder that dies loses its slot after <c>lease_s</c>; a live one renews it.
/// Implementations: <see cref="InProcessResourceGate"/> (embedded) and
/// <see cref="RedisResourceGate"/> (one Lua script per step in Redis, shared by all executors).
/// </summary>
public interface IResourceGate
{
    /// <summary>
    /// Takes the job's capacity, or nothing. A job for which the gate reserved capacity when it
    /// woke it gets it; any other job waits while others are parked (it joins the lane, whose
    /// order decides).
    /// Throws when the gate cannot be reached: the caller must then wait, never run unlimited.
    /// </summary>
    ValueTask<GateAnswer> TryAcquireAsync(ResourceNeed need, JobMessage job);

    /// <summary>
    /// Puts the job at the end of its flow (its user's at its priority: <see cref="JobMessage.UserId"/>,
    /// <see cref="JobMessage.Priority"/>, <see cref="JobMessage.Weight"/>) in its resource's lane
    /// (once: parking a parked job again changes nothing). The lane counts as a held copy of the message.
    /// </summary>
    ValueTask ParkAsync(ResourceNeed need, JobMessage job);

    /// <summary>
    /// Gives the slot back (capacity returns at once); <paramref name="ran"/> feeds the wait
    /// estimates (null: a reservation given up unused, for a job that turned out cancelled).
    /// </summary>
    ValueTask ReleaseAsync(ResourceNeed need, JobMessage job, TimeSpan? ran);

    /// <summary>Extends the slot leases of running jobs.</summary>
    ValueTask RenewAsync(IReadOnlyCollection<(ResourceNeed Need, JobMessage Job)> held);

    /// <summary>
    /// Sends parked jobs on, in the lane's order, as far as capacity allows (reserving it for
    /// them). Lanes of resources no longer in the map are sent on whole (their jobs now run
    /// ungated): a config change never strands a parked job. Returns how long until capacity may
    /// return at the latest (a rate token, a budget period), or null when nothing waits.
    /// </summary>
    ValueTask<TimeSpan?> WakeAsync(IReadOnlyCollection<ResourceSpec> resources);

    /// <summary>
    /// The job's place in its lane (<see cref="FairOrder{T}.PositionOf"/> + 1: the order it will
    /// leave in if nothing else arrives and no level ages), or null when it is not parked. Only the
    /// job's identity is needed: the lane knows which flow holds it.
    /// </summary>
    ValueTask<LanePosition?> PositionAsync(ResourceNeed need, JobMessage job);

    /// <summary>
    /// Takes a parked job out of its lane (its request was cancelled), so that it neither takes a
    /// turn nor counts ahead of others; the lane's copy of its message is dropped. False when it
    /// was not parked there.
    /// </summary>
    ValueTask<bool> RemoveAsync(ResourceNeed need, JobMessage job);

    /// <summary>What the resource looks like now (for operators: the admin API, later the panel and metrics).</summary>
    ValueTask<ResourceState> StateAsync(ResourceSpec spec);

    /// <summary>For <c>on_exhausted: reject</c>: null when new work is welcome, else how long until it may be (budget spent, or jobs already waiting).</summary>
    ValueTask<TimeSpan?> ExhaustedAsync(ResourceNeed need);
}

/// <summary>Estimates shared by both gates.</summary>
internal static class GateMath
{
    /// <summary>GCRA emission interval: one call per this many ms.</summary>
    public static long IntervalMs(ResourceSpec spec) => spec.Rpm is { } rpm ? Math.Max(1, 60_000 / rpm) : 0;

    /// <summary>GCRA burst tolerance: up to a second's worth of calls at once, never a minute's.</summary>
    public static long ToleranceMs(ResourceSpec spec) =>
        spec.Rpm is { } rpm ? (Math.Max(1, rpm / 60) - 1) * IntervalMs(spec) : 0;

    public static long PeriodMs(ResourceSpec spec) => Math.Max(1000, (long)spec.Period.TotalMilliseconds);

    /// <summary>
    /// When the job at <paramref name="position"/> may start: the lane ahead of it drains at the
    /// slower of the slots (average run time over <c>max_concurrent</c>) and the rate.
    /// </summary>
    public static TimeSpan Eta(ResourceSpec spec, long position, double averageRunMs, TimeSpan budgetWait)
    {
        var bySlots = spec.MaxConcurrent is { } slots ? position * averageRunMs / slots : 0;
        var byRate = position * (double)IntervalMs(spec);
        return TimeSpan.FromMilliseconds(Math.Max(bySlots, byRate)) + budgetWait;
    }
}
