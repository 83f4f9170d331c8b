using System.Globalization;
using Switchboard.Config;

namespace Switchboard.Recon;

/// <summary>
/// One alert condition true now for one subject. It fires once it has held for
/// <see cref="For"/> (zero: at once); <see cref="Summary"/> says what is wrong, with numbers.
/// </summary>
public sealed record AlertCondition(string Alert, string Subject, string Summary, TimeSpan For);

/// <summary>The alert names (stable: they are metric labels and in Discord messages) and what makes each true.</summary>
public static class AlertRules
{
    /// <summary>A handler has queued requests and no live executor serves it (<c>alerts.no_executor_s</c>).</summary>
    public const string NoExecutor = "no_executor_for_handler";
    public const string OldestQueued = "oldest_queued";
    public const string ErrorRate = "error_rate";
    public const string Budget = "budget";
    public const string Unreachable = "unreachable";
    public const string Repairs = "repairs";
    public const string CredentialMissing = "credential_missing";

    /// <summary>The oldest undelivered webhook event is older than <c>alerts.webhook_backlog_s</c>.</summary>
    public const string WebhookBacklog = "webhook_backlog";

    public static List<AlertCondition> Check(HealthSnapshot s, AlertThresholds t, long repairsLastMinute)
    {
        var conditions = new List<AlertCondition>();
        var covered = s.CoveredHandlers;
        foreach (var queue in s.QueuesByHandler.Where(q => q.Depth > 0))
        {
            // Unknown (registry unreadable) is not "none": the unreachable alert covers that case.
            if (covered is not null && !covered.Contains(queue.Name))
            {
                conditions.Add(new(NoExecutor, queue.Name,
                    $"{queue.Depth} queued requests of handler {queue.Name} and no live executor runs it", t.NoExecutor));
            }
            if (queue.OldestAgeSeconds > t.OldestQueued.TotalSeconds)
            {
                conditions.Add(new(OldestQueued, queue.Name,
                    $"the oldest queued request of handler {queue.Name} has waited {queue.OldestAgeSeconds:0} s (threshold {t.OldestQueued.TotalSeconds:0} s; {queue.Depth} queued)", TimeSpan.Zero));
            }
        }
        foreach (var handler in s.Errors.Where(e => e.Calls >= t.ErrorRateMinCalls && e.Ratio * 100 > t.ErrorRatePercent))
        {
            conditions.Add(new(ErrorRate, handler.Handler,
                $"handler {handler.Handler} failed {handler.Errors} of {handler.Calls} calls ({Percent(handler.Ratio)}) over the last {t.ErrorRateWindow.TotalSeconds:0} s (threshold {t.ErrorRatePercent}%)", TimeSpan.Zero));
        }
        foreach (var resource in s.Resources ?? [])
        {
            if (resource.UsedRatio is { } ratio && ratio * 100 >= t.BudgetPercent)
            {
                conditions.Add(new(Budget, resource.Name,
                    $"resource {resource.Name} has used {resource.Spent} of its {resource.Credits} credits this period ({Percent(ratio)}, threshold {t.BudgetPercent}%)", TimeSpan.Zero));
            }
        }
        foreach (var dependency in s.Dependencies.Where(d => !d.Up))
        {
            conditions.Add(new(Unreachable, dependency.Name,
                $"{dependency.Name} cannot be reached: {dependency.Error}", t.Unreachable));
        }
        // One alert per variable, naming the executors that lack it (never a value: they only report names).
        foreach (var lacking in (s.Executors ?? []).SelectMany(e => (e.MissingEnv ?? []).Select(v => (Variable: v, e.Owner))).GroupBy(x => x.Variable, StringComparer.Ordinal))
        {
            var owners = lacking.Select(x => x.Owner).Order(StringComparer.Ordinal).ToList();
            conditions.Add(new(CredentialMissing, lacking.Key,
                $"environment variable {lacking.Key}, named by an endpoint profile in svc_handlers, is not set on {owners.Count} executor(s) ({string.Join(", ", owners)}): their offers cannot run there", TimeSpan.Zero));
        }
        if (s.OldestWebhookSeconds is { } age && age > t.WebhookBacklog.TotalSeconds)
        {
            conditions.Add(new(WebhookBacklog, "webhooks",
                $"the oldest undelivered webhook event was written {age:0} s ago (threshold {t.WebhookBacklog.TotalSeconds:0} s): receivers are failing or no process delivers", TimeSpan.Zero));
        }
        if (repairsLastMinute > t.RepairsPerMinute)
        {
            conditions.Add(new(Repairs, "recon",
                $"recon made {repairsLastMinute} repairs in the last minute (threshold {t.RepairsPerMinute}): workers are losing jobs or the queue is losing messages", TimeSpan.Zero));
        }
        return conditions;
    }

    private static string Percent(double ratio) => (ratio * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";
}
