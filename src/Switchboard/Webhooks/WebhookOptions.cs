namespace Switchboard.Webhooks;

/// <summary>
/// Completion webhooks (section <c>Switchboard:Webhooks</c>): process configuration, validated
/// at start. Which addresses a webhook may reach is <c>Switchboard:Outbound</c>'s to say (the
/// same policy as every outbound call); <see cref="AllowHttp"/> only lets plain http through.
/// </summary>
public sealed class WebhookOptions
{
    public const string Section = "Switchboard:Webhooks";

    /// <summary>Plain <c>http://</c> URLs accepted (a receiver on this machine in tests); https only by default.</summary>
    public bool AllowHttp { get; set; }

    public int MaxUrlLength { get; set; } = 2048;

    public int MaxEndpointsPerUser { get; set; } = 10;

    /// <summary>How long an event is retried after it was written (or sent again) before it is marked failed: at least 24 h by default.</summary>
    public TimeSpan RetryWindow { get; set; } = TimeSpan.FromHours(25);

    /// <summary>The wait after the first failed attempt; each further failure doubles it (with ±20 % jitter), up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>One attempt's time to connect, send and read the answer.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a claimed event is this process's: after it (a process killed mid-send) another process attempts it again.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The fallback poll for due events (events written by other processes, retries coming due); this process's own wake the worker at once.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Attempts this process has in flight at most.</summary>
    public int MaxConcurrency { get; set; } = 16;

    /// <summary>How long a rotated secret still signs (beside the new one), so receivers can switch without a gap.</summary>
    public TimeSpan RotationGrace { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Most bytes of a receiver's answer read (and kept in the delivery log, as text, up to 1 KiB).</summary>
    public int MaxResponseBytes { get; set; } = 16 * 1024;

    public string? Check()
    {
        if (MaxUrlLength is < 16 or > 8192)
        {
            return "Switchboard:Webhooks:MaxUrlLength must be between 16 and 8192";
        }
        if (MaxEndpointsPerUser is < 1 or > 1000)
        {
            return "Switchboard:Webhooks:MaxEndpointsPerUser must be between 1 and 1000";
        }
        if (FirstRetryDelay <= TimeSpan.Zero || MaxRetryDelay < FirstRetryDelay || RetryWindow <= TimeSpan.Zero)
        {
            return "Switchboard:Webhooks: FirstRetryDelay must be > 0 and <= MaxRetryDelay, RetryWindow > 0";
        }
        if (RequestTimeout <= TimeSpan.Zero || Lease <= RequestTimeout)
        {
            return "Switchboard:Webhooks: RequestTimeout must be > 0 and Lease longer than it (a lease must outlast its attempt)";
        }
        if (PollInterval <= TimeSpan.Zero || MaxConcurrency is < 1 or > 1024 || RotationGrace < TimeSpan.Zero || MaxResponseBytes is < 0 or > 1024 * 1024)
        {
            return "Switchboard:Webhooks: PollInterval must be > 0, MaxConcurrency 1..1024, RotationGrace >= 0, MaxResponseBytes 0..1048576";
        }
        return null;
    }
}
