using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Switchboard.Handlers;

/// <summary>Stable codes of outbound failures every handler shares.</summary>
public static class OutboundCodes
{
    /// <summary>The guard refused the address (loopback, private, link-local, metadata): permanent.</summary>
    public const string AddressRefused = "upstream_address_refused";
}

/// <summary>
/// Turns an upstream's error answer into a <see cref="HandlerException"/> whose message a client
/// may see: the HTTP status and, at most, the error's <c>code</c> or <c>type</c> when it is a
/// short token. The body itself is never echoed (an upstream may repeat what it was sent, a
/// key included); it goes to the debug log, capped and with the key masked.
/// </summary>
public static partial class UpstreamErrors
{
    private const int LoggedChars = 1000;

    [GeneratedRegex(@"\A[A-Za-z0-9_.\-]{1,64}\z")]
    private static partial Regex Token();

    public static HandlerException Classify(HttpResponseMessage response, string body, ILogger logger, string? secret) =>
        Classify((int)response.StatusCode, () => RetryAfter(response), body, logger, secret);

    /// <summary>
    /// The same classification from a status and raw headers, for answers an SDK read
    /// (<c>ClientResultException.GetRawResponse()</c>): <paramref name="header"/> gives a header's value or null.
    /// </summary>
    public static HandlerException Classify(int status, Func<string, string?> header, string body, ILogger logger, string? secret) =>
        Classify(status, () => RetryAfter(header), body, logger, secret);

    private static HandlerException Classify(int status, Func<TimeSpan?> retryAfter, string body, ILogger logger, string? secret)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            var logged = body.Length > LoggedChars ? body[..LoggedChars] + "…" : body;
            if (!string.IsNullOrEmpty(secret))
            {
                logged = logged.Replace(secret, "***", StringComparison.Ordinal);
            }
            logger.LogDebug("Upstream answered {Status}: {Body}", status, logged);
        }
        var reason = Reason(body);
        return (HttpStatusCode)status switch
        {
            HttpStatusCode.TooManyRequests => HandlerException.Retry("upstream_rate_limited", "the upstream API is rate limiting", retryAfter()),
            HttpStatusCode.RequestTimeout or HttpStatusCode.Conflict or >= HttpStatusCode.InternalServerError =>
                HandlerException.Retry("upstream_error", $"the upstream API answered {status}", retryAfter()),
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden =>
                HandlerException.Permanent("upstream_auth_failed", $"the upstream API refused the credentials ({status})"),
            >= HttpStatusCode.MultipleChoices and < HttpStatusCode.BadRequest =>
                HandlerException.Permanent("upstream_redirected", $"the upstream API answered {status} (redirects are not followed)"),
            _ => HandlerException.Permanent("upstream_rejected", $"the upstream API rejected the call ({status}){reason}"),
        };
    }

    /// <summary>": code" from <c>{"error": {"code": ..., "type": ...}}</c> when it is a plain token; else nothing.</summary>
    public static string Reason(string body)
    {
        try
        {
            if ((JsonNode.Parse(body) as JsonObject)?["error"] is JsonObject error)
            {
                foreach (var name in new[] { "code", "type" })
                {
                    if (error[name] is JsonValue v && v.TryGetValue<string>(out var token) && Token().IsMatch(token))
                    {
                        return ": " + token;
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: the status says enough.
        }
        return "";
    }

    /// <summary>As <see cref="RetryAfter(HttpResponseMessage)"/>, from raw header values (an SDK's response).</summary>
    public static TimeSpan? RetryAfter(Func<string, string?> header)
    {
        using var response = new HttpResponseMessage();
        foreach (var name in new[] { "retry-after-ms", "Retry-After" })
        {
            if (header(name) is { Length: > 0 } value)
            {
                response.Headers.TryAddWithoutValidation(name, value);
            }
        }
        return RetryAfter(response);
    }

    /// <summary>Retry-After in seconds or as an HTTP date, or OpenAI's retry-after-ms.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("retry-after-ms", out var ms)
            && double.TryParse(ms.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var millis)
            && millis >= 0 && millis < TimeSpan.MaxValue.TotalMilliseconds)
        {
            return TimeSpan.FromMilliseconds(millis);
        }
        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            return delta;
        }
        if (retryAfter?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return null;
    }
}
