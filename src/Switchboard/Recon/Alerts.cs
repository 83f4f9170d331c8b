using Switchboard.Observability;

namespace Switchboard.Recon;

/// <summary>An alert firing now, since when, and what it last said.</summary>
public sealed record FiringAlert(string Alert, string Subject, string Summary, long SinceMs);

/// <summary>A change to tell operators about: an alert started firing, or resolved.</summary>
public sealed record AlertNotice(bool Firing, string Alert, string Subject, string Summary, long AtMs, long SinceMs);

/// <summary>
/// Turns the conditions of each pass into alert changes: an alert fires when its condition has
/// held for its duration, and resolves the first pass it no longer holds. Each change is logged,
/// sets <c>switchboard_alerts_firing</c>, and is posted to the notifier once: a firing alert is
/// never announced again while it fires (deduplicated). Used by the leading recon only.
/// </summary>
public sealed class AlertEngine(DiscordNotifier notifier, ILogger<AlertEngine> logger)
{
    private readonly Dictionary<(string Alert, string Subject), long> _holdingSince = [];
    private readonly Dictionary<(string Alert, string Subject), FiringAlert> _firing = [];
    private volatile IReadOnlyList<FiringAlert> _published = [];

    /// <summary>What fires now, oldest first (for the health endpoint).</summary>
    public IReadOnlyList<FiringAlert> Firing => _published;

    public void Evaluate(IReadOnlyCollection<AlertCondition> conditions, long nowMs)
    {
        lock (_firing)
        {
            var holding = new HashSet<(string, string)>();
            foreach (var condition in conditions)
            {
                var key = (condition.Alert, condition.Subject);
                holding.Add(key);
                _holdingSince.TryAdd(key, nowMs);
                if (_firing.TryGetValue(key, out var firing))
                {
                    _firing[key] = firing with { Summary = condition.Summary };
                }
                else if (nowMs - _holdingSince[key] >= (long)condition.For.TotalMilliseconds)
                {
                    _firing[key] = new FiringAlert(condition.Alert, condition.Subject, condition.Summary, _holdingSince[key]);
                    SwitchboardMetrics.AlertsFiring.WithLabels(condition.Alert, condition.Subject).Set(1);
                    logger.LogWarning("Alert {Alert} firing for {Subject}: {Summary}", condition.Alert, condition.Subject, condition.Summary);
                    notifier.Post(new AlertNotice(true, condition.Alert, condition.Subject, condition.Summary, nowMs, _holdingSince[key]));
                }
            }
            foreach (var key in _holdingSince.Keys.Where(k => !holding.Contains(k)).ToList())
            {
                _holdingSince.Remove(key);
                if (_firing.Remove(key, out var resolved))
                {
                    SwitchboardMetrics.AlertsFiring.WithLabels(key.Alert, key.Subject).Set(0);
                    logger.LogInformation("Alert {Alert} resolved for {Subject} after {Seconds:0} s", key.Alert, key.Subject, (nowMs - resolved.SinceMs) / 1000.0);
                    notifier.Post(new AlertNotice(false, key.Alert, key.Subject, resolved.Summary, nowMs, resolved.SinceMs));
                }
            }
            _published = [.. _firing.Values.OrderBy(f => f.SinceMs).ThenBy(f => f.Alert, StringComparer.Ordinal)];
        }
    }

    /// <summary>
    /// This process stopped leading: its alerts are forgotten without a message (the new leader
    /// evaluates them afresh and owns them from now on).
    /// </summary>
    public void Reset()
    {
        lock (_firing)
        {
            foreach (var key in _firing.Keys)
            {
                SwitchboardMetrics.AlertsFiring.WithLabels(key.Alert, key.Subject).Set(0);
            }
            _firing.Clear();
            _holdingSince.Clear();
            _published = [];
        }
    }
}
