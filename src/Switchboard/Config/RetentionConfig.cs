namespace Switchboard.Config;

/// <summary>
/// How long recon's leader keeps what only grows (the <c>retention</c> section of the
/// <c>recon</c> config; docs/operations.md, "Retention"):
/// <code>
/// retention:
///   usage_minutes_days: 14    # per-minute usage, then rolled up into days (2-3650)
///   usage_days_days: 730      # per-day usage (0: forever; else at least usage_minutes_days)
///   requests_days: 30         # finished requests, their steps, binary results and webhook rows (0: forever)
/// </code>
/// The ledger is never pruned.
/// </summary>
public sealed record RetentionConfig(int UsageMinutesDays, int UsageDaysDays, int RequestsDays)
{
    public static readonly RetentionConfig Defaults = new(14, 730, 30);

    public TimeSpan UsageMinutes => TimeSpan.FromDays(UsageMinutesDays);

    /// <summary>Null: kept forever.</summary>
    public TimeSpan? UsageDays => UsageDaysDays == 0 ? null : TimeSpan.FromDays(UsageDaysDays);

    /// <summary>Null: kept forever.</summary>
    public TimeSpan? Requests => RequestsDays == 0 ? null : TimeSpan.FromDays(RequestsDays);

    public static RetentionConfig Read(ConfigValues? section)
    {
        if (section is null)
        {
            return Defaults;
        }
        section.OnlyKnown("usage_minutes_days", "usage_days_days", "requests_days");
        // Two days at least: what reads the last 24 hours per minute or per hour (the panel's
        // Resources page, the alerts' error rate, a resource's last minute) never meets a rolled-up day.
        var minutes = (int?)section.Long("usage_minutes_days", 2, 3650) ?? Defaults.UsageMinutesDays;
        var days = (int?)section.Long("usage_days_days", 0, 36_500) ?? Defaults.UsageDaysDays;
        if (days != 0 && days < minutes)
        {
            // Days younger than the minutes kept would be deleted as soon as they are rolled up.
            section.Errors.Add($"{section.At("usage_days_days")} must be 0 (forever) or at least usage_minutes_days");
            days = minutes;
        }
        var requests = (int?)section.Long("requests_days", 0, 36_500) ?? Defaults.RequestsDays;
        return new RetentionConfig(minutes, days, requests);
    }
}
