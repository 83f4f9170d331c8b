namespace Switchboard.Webhooks;

/// <summary>How far behind delivery is: read by the delivery worker (its gauge) and by the health probe (the <c>webhook_backlog</c> alert).</summary>
public static class WebhookBacklog
{
    /// <summary>The age (s) of the oldest event neither delivered nor given up; null when there is none (index <c>webhook_events_due</c>).</summary>
    public static double? OldestPendingSeconds(Store store, long now)
    {
        using var connection = store.Open();
        return connection.Scalar<long?>("SELECT MIN(created_at) FROM webhook_events WHERE status = 'pending'") is { } oldest
            ? Math.Max(0, now - oldest) / 1000.0
            : null;
    }
}
