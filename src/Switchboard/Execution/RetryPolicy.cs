using Switchboard.Config;

namespace Switchboard.Execution;

/// <summary>
/// Exponential backoff with jitter; an upstream's Retry-After is a floor, never shortened, up to
/// <see cref="MaxRetryAfter"/> (a server asking for days would otherwise park requests for days).
/// </summary>
public static class RetryPolicy
{
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(1);

    public static TimeSpan Delay(SwitchboardOptions options, int attempt, TimeSpan? retryAfter)
    {
        var exponential = options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Max(0, attempt - 1));
        var capped = Math.Min(exponential, options.RetryMaxDelay.TotalMilliseconds);
        // "Equal jitter": half fixed, half random, so retries of many jobs spread out but none is immediate.
        var jittered = (capped / 2) + (Random.Shared.NextDouble() * capped / 2);
        var delay = TimeSpan.FromMilliseconds(jittered);
        if (retryAfter is { } floor && floor > delay)
        {
            delay = floor < MaxRetryAfter ? floor : MaxRetryAfter;
        }
        return delay;
    }
}
