namespace Switchboard.Handlers;

/// <summary>A classified handler failure. Transient ones are retried with backoff; permanent ones fail the request and refund it.</summary>
public sealed class HandlerException(string code, string message, bool transient, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>Stable, client-visible error code (e.g. <c>upstream_rate_limited</c>).</summary>
    public string Code { get; } = code;

    public bool Transient { get; } = transient;

    /// <summary>The upstream's Retry-After, when it sent one; the retry waits at least this long.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;

    public static HandlerException Permanent(string code, string message) => new(code, message, transient: false);

    public static HandlerException Retry(string code, string message, TimeSpan? retryAfter = null) => new(code, message, transient: true, retryAfter);
}
