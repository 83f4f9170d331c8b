using Switchboard.Fairness;
namespace Switchboard.Queue;

/// <summary>Tuning of <see cref="RedisJobQueue"/>; the defaults suit production, tests shorten the times.</summary>
public sealed class RedisJobQueueOptions
{
    /// <summary>Most messages sent to Redis in one batch by the dispatcher.</summary>
    public int MaxBatch { get; set; } = 1000;

    /// <summary>
    /// How long one <c>XREADGROUP … BLOCK</c> waits for new entries. Short enough that shutdown
    /// and reclaim checks are not delayed by it; long enough that an idle executor costs little.
    /// </summary>
    public TimeSpan BlockTime { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often due delayed messages are moved into the stream.</summary>
    public TimeSpan MoverInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often abandoned entries are looked for; by default a quarter of the reclaim time (50 ms to 5 s).</summary>
    public TimeSpan? ReclaimInterval { get; set; }

    /// <summary>
    /// Whether jobs wait in fair flows and are staged into the streams by demand
    /// (<see cref="RedisFairScripts"/>); false: straight into the streams, first in first out.
    /// Every process of a deployment should agree (a process with it off still drains flows a fair one left).
    /// </summary>
    public bool Fair { get; set; } = true;

    /// <summary>How long a priority level waits before it counts one level higher (<see cref="FairOrder{T}"/>).</summary>
    public TimeSpan AgeStep { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a consumer's recorded demand holds if it records no newer one (it died or stopped reading).</summary>
    public TimeSpan DemandHolds { get; set; } = TimeSpan.FromSeconds(5);

    internal long AgeStepMs => Math.Max(1, (long)AgeStep.TotalMilliseconds);
}
