namespace Switchboard.Config;

/// <summary>The thresholds of recon's alerts (docs/operations.md, "Health and alerts").</summary>
public sealed record AlertThresholds(
    TimeSpan NoExecutor, TimeSpan OldestQueued, double ErrorRatePercent, TimeSpan ErrorRateWindow, long ErrorRateMinCalls,
    double BudgetPercent, TimeSpan Unreachable, long RepairsPerMinute)
{
    public static readonly AlertThresholds Defaults = new(
        TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(300), 20, TimeSpan.FromSeconds(300), 10, 90, TimeSpan.FromSeconds(15), 50);

    /// <summary>The oldest undelivered webhook event older than this fires <c>webhook_backlog</c> (<c>alerts.webhook_backlog_s</c>).</summary>
    public TimeSpan WebhookBacklog { get; init; } = TimeSpan.FromHours(1);
}

/// <summary>
/// The <c>recon</c> config: where recon's alerts go and when they fire.
/// <code>
/// discord:
///   ~webhook: https://discord.com/api/webhooks/…   # a secret: never logged, never shown
///   max_per_minute: 10                               # messages; the excess is dropped and counted
/// no_executor_fail_s: 3600                          # a handler without a live executor this long: its queued requests fail (no_executor)
/// alerts:
///   no_executor_s: 30
///   oldest_queued_s: 300
///   error_rate: {percent: 20, window_s: 300, min_calls: 10}
///   budget_percent: 90
///   unreachable_s: 15
///   repairs_per_min: 50
/// retention: {usage_minutes_days: 14, usage_days_days: 730, requests_days: 30}   # see RetentionConfig
/// </code>
/// Every key is optional. Without a webhook, alerts are still evaluated, logged, exported
/// (<c>switchboard_alerts_firing</c>) and shown by <c>GET /admin/api/health</c>.
/// </summary>
public sealed record ReconConfig(string? DiscordWebhook, int MaxMessagesPerMinute, AlertThresholds Alerts)
{
    public const string Id = "recon";

    public static readonly ReconConfig Defaults = new(null, 10, AlertThresholds.Defaults);

    /// <summary>
    /// How long a queued request waits for an executor of its handler when none is live before
    /// it fails with <c>no_executor</c> (refunded): an hour by default, long enough for an
    /// operator paged by <c>no_executor_for_handler</c> to start one, short enough that a client
    /// is not left waiting for good.
    /// </summary>
    public TimeSpan NoExecutorFail { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How long usage and finished requests are kept (<see cref="RetentionConfig"/>).</summary>
    public RetentionConfig Retention { get; init; } = RetentionConfig.Defaults;

    public static ReconConfig Read(JsonObject values, List<string> errors)
    {
        var top = new ConfigValues(values, Id, errors);
        top.OnlyKnown("discord", "discord_webhook", "alerts", "no_executor_fail_s", "retention");
        var discord = Section(top, "discord", errors);
        discord?.OnlyKnown("webhook", "max_per_minute");
        var webhook = discord?.Text("webhook") ?? top.Text("discord_webhook");
        // At push the secret is masked: its URL is checked when a process loads it.
        if (webhook is not null && webhook != ConfigProtocol.Mask && !(Uri.TryCreate(webhook, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            // The value is a secret: the message names the key, never the value.
            errors.Add($"{(discord?.Values["webhook"] is not null ? discord.At("webhook") : top.At("discord_webhook"))} must be an http(s) URL");
            webhook = null;
        }
        var perMinute = (int?)discord?.Long("max_per_minute", 1, 1000) ?? Defaults.MaxMessagesPerMinute;

        var d = AlertThresholds.Defaults;
        var alerts = Section(top, "alerts", errors);
        alerts?.OnlyKnown("no_executor_s", "oldest_queued_s", "error_rate", "budget_percent", "unreachable_s", "repairs_per_min", "webhook_backlog_s");
        var errorRate = alerts is null ? null : Section(alerts, "error_rate", errors);
        errorRate?.OnlyKnown("percent", "window_s", "min_calls");
        var thresholds = new AlertThresholds(
            Seconds(alerts?.Long("no_executor_s", 1, 86_400)) ?? d.NoExecutor,
            Seconds(alerts?.Long("oldest_queued_s", 1, 30 * 86_400)) ?? d.OldestQueued,
            errorRate?.Long("percent", 1, 100) ?? d.ErrorRatePercent,
            Seconds(errorRate?.Long("window_s", 60, 86_400)) ?? d.ErrorRateWindow,
            errorRate?.Long("min_calls", 1, 1_000_000) ?? d.ErrorRateMinCalls,
            alerts?.Long("budget_percent", 1, 100) ?? d.BudgetPercent,
            Seconds(alerts?.Long("unreachable_s", 1, 86_400)) ?? d.Unreachable,
            alerts?.Long("repairs_per_min", 1, 10_000_000) ?? d.RepairsPerMinute)
        {
            WebhookBacklog = Seconds(alerts?.Long("webhook_backlog_s", 60, 7 * 86_400)) ?? d.WebhookBacklog,
        };
        return new ReconConfig(webhook, perMinute, thresholds)
        {
            // A week at most: a request older than that waiting for an executor is forgotten work.
            NoExecutorFail = Seconds(top.Long("no_executor_fail_s", 1, 7 * 86_400)) ?? Defaults.NoExecutorFail,
            Retention = RetentionConfig.Read(Section(top, "retention", errors)),
        };
    }

    private static TimeSpan? Seconds(long? seconds) => seconds is { } s ? TimeSpan.FromSeconds(s) : null;

    private static ConfigValues? Section(ConfigValues parent, string key, List<string> errors) => parent.Values[key] switch
    {
        null => null,
        JsonObject inner => new ConfigValues(inner, parent.At(key), errors),
        _ => Error(errors, $"{parent.At(key)} must be a mapping"),
    };

    private static ConfigValues? Error(List<string> errors, string message)
    {
        errors.Add(message);
        return null;
    }

    /// <summary>Never the webhook: records print their values.</summary>
    public override string ToString() =>
        $"ReconConfig {{ DiscordWebhook = {(DiscordWebhook is null ? "none" : "set")}, MaxMessagesPerMinute = {MaxMessagesPerMinute}, Alerts = {Alerts}, NoExecutorFail = {NoExecutorFail}, Retention = {Retention} }}";
}
