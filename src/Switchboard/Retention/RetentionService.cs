using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Lifecycle;
using Switchboard.Observability;
using Switchboard.Recon;

namespace Switchboard.Retention;

/// <summary>What one retention pass did.</summary>
public sealed record RetentionPass(int UsageDaysRolled, int UsageMinutesRolledUp, int UsageDaysDeleted, PruneCounts Pruned);

/// <summary>
/// Keeps the store from growing for good, on recon's leader every <c>RetentionInterval</c>, with
/// the times of the <c>recon</c> config's <c>retention</c> section (read at each pass, so a push
/// applies at the next): rolls usage minutes up into days (<see cref="UsageRollup"/>), deletes
/// days past theirs, and prunes finished requests (<see cref="RequestPruning"/>). Each in small
/// writer units (a day of usage; <see cref="RequestsPerUnit"/> requests) and a bounded number per
/// pass, so it never holds the writer long; a backlog (the first pass after an upgrade) is worked
/// off over the next passes.
/// </summary>
public sealed class RetentionService(
    Store store, IReconLeadership leadership, AppConfigs configs, IOptions<SwitchboardOptions> options, ILogger<RetentionService> logger)
    : BackgroundService
{
    internal const int RequestsPerUnit = 100;

    internal const int UnitsPerPass = 20;

    internal const int DaysPerPass = 31;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RetentionInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (!leadership.IsLeader)
            {
                continue;
            }
            try
            {
                await RunOnceAsync(Clock.NowMs(), stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Retention pass failed; next pass in {Interval}", options.Value.RetentionInterval);
            }
        }
    }

    /// <summary>One pass as of <paramref name="now"/> (tests pass a later time instead of waiting days).</summary>
    public async Task<RetentionPass> RunOnceAsync(long now, CancellationToken cancellationToken = default)
    {
        var retention = configs.Recon.Retention;
        var (days, minutes) = await RollUpUsage(now - (long)retention.UsageMinutes.TotalMilliseconds, cancellationToken);
        var deleted = retention.UsageDays is { } keepDays ? await DeleteOldDays(now - (long)keepDays.TotalMilliseconds, cancellationToken) : 0;
        var pruned = retention.Requests is { } keepRequests ? await PruneRequests(now - (long)keepRequests.TotalMilliseconds, now, cancellationToken) : PruneCounts.None;
        return new RetentionPass(days, minutes, deleted, pruned);
    }

    private async Task<(int Days, int Minutes)> RollUpUsage(long minutesBefore, CancellationToken cancellationToken)
    {
        var (days, minutes) = (0, 0);
        while (days < DaysPerPass)
        {
            long? day;
            using (var connection = store.Open())
            {
                day = UsageRollup.OldestDayToRoll(connection, minutesBefore);
            }
            if (day is not { } from)
            {
                break;
            }
            var moved = await store.WriteAsync(c => UsageRollup.RollDay(c, store.Kind, from)).WaitAsync(cancellationToken);
            days++;
            minutes += moved;
            SwitchboardMetrics.RetentionRows.WithLabels("usage_minutes_rolled_up").Inc(moved);
            logger.LogDebug("Retention rolled up {Rows} usage minute row(s) of {Day} into days", moved, Clock.Iso(from));
        }
        return (days, minutes);
    }

    private async Task<int> DeleteOldDays(long daysBefore, CancellationToken cancellationToken)
    {
        var total = 0;
        for (var i = 0; i < DaysPerPass; i++)
        {
            var deleted = await store.WriteAsync(c => UsageRollup.DeleteOldestDay(c, daysBefore)).WaitAsync(cancellationToken);
            if (deleted == 0)
            {
                break;
            }
            total += deleted;
            SwitchboardMetrics.RetentionRows.WithLabels("usage_days_deleted").Inc(deleted);
            logger.LogDebug("Retention deleted {Rows} usage day row(s) older than {Before}", deleted, Clock.Iso(daysBefore));
        }
        return total;
    }

    private async Task<PruneCounts> PruneRequests(long finishedBefore, long now, CancellationToken cancellationToken)
    {
        var total = PruneCounts.None;
        for (var i = 0; i < UnitsPerPass; i++)
        {
            List<string> ids;
            using (var connection = store.Open())
            {
                ids = RequestPruning.Finished(connection, finishedBefore, RequestsPerUnit);
            }
            if (ids.Count == 0)
            {
                break;
            }
            var counts = await store.WriteAsync(c => ids.Aggregate(PruneCounts.None,
                (sum, id) => RequestPruning.Prune(c, id, finishedBefore, RequestPruning.Retention, now) is { } one ? sum.Add(one) : sum)).WaitAsync(cancellationToken);
            Count(counts);
            total = total.Add(counts);
            logger.LogDebug("Retention pruned {Requests} request(s) finished before {Before} ({Steps} steps, {Blobs} blobs, {Events} webhook events, {Attempts} attempts)",
                counts.Requests, Clock.Iso(finishedBefore), counts.Steps, counts.Blobs, counts.WebhookEvents, counts.WebhookAttempts);
            if (ids.Count < RequestsPerUnit || counts.Requests == 0)
            {
                break;
            }
        }
        return total;
    }

    /// <summary>Adds what a prune (or a user's forget) removed to <c>switchboard_retention_rows_total</c>.</summary>
    public static void Count(PruneCounts counts)
    {
        SwitchboardMetrics.RetentionRows.WithLabels("requests_pruned").Inc(counts.Requests);
        SwitchboardMetrics.RetentionRows.WithLabels("steps_pruned").Inc(counts.Steps);
        SwitchboardMetrics.RetentionRows.WithLabels("blobs_deleted").Inc(counts.Blobs);
        SwitchboardMetrics.RetentionRows.WithLabels("webhook_events_deleted").Inc(counts.WebhookEvents);
        SwitchboardMetrics.RetentionRows.WithLabels("webhook_attempts_deleted").Inc(counts.WebhookAttempts);
    }
}
