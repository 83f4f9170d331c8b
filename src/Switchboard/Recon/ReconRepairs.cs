using Switchboard.Observability;

namespace Switchboard.Recon;

/// <summary>
/// Counts recon's repairs: <c>switchboard_recon_repairs_total{kind}</c> for Prometheus, and the
/// repairs of the last minute for the <c>repairs_per_min</c> alert.
/// </summary>
public sealed class ReconRepairs
{
    /// <summary>A request whose lease expired, queued again.</summary>
    public const string Requeued = "requeued";

    /// <summary>A request whose lease expired on its last attempt, failed (and refunded).</summary>
    public const string FailedLost = "failed_lost";

    /// <summary>A queued request of which the queue held no message, sent again.</summary>
    public const string Dispatched = "dispatched";

    /// <summary>A queued request whose handler no live executor served for the maximum wait, failed (and refunded).</summary>
    public const string FailedNoExecutor = "failed_no_executor";

    /// <summary>A succeeded request past its expiration, whose results were dropped.</summary>
    public const string Expired = "expired";

    private readonly Queue<(long At, int Count)> _recent = new();
    private readonly Lock _lock = new();

    public void Record(string kind, int count = 1)
    {
        if (count <= 0)
        {
            return;
        }
        SwitchboardMetrics.ReconRepairs.WithLabels(kind).Inc(count);
        lock (_lock)
        {
            _recent.Enqueue((Environment.TickCount64, count));
        }
    }

    /// <summary>Repairs made in the last minute.</summary>
    public long LastMinute()
    {
        lock (_lock)
        {
            var from = Environment.TickCount64 - 60_000;
            while (_recent.TryPeek(out var oldest) && oldest.At < from)
            {
                _recent.Dequeue();
            }
            return _recent.Sum(r => (long)r.Count);
        }
    }
}
