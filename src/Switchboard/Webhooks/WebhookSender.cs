using System.Globalization;
using System.Text;
using StandardWebhooks;
using Switchboard.Outbound;

namespace Switchboard.Webhooks;

/// <summary>What one attempt came to: delivered (2xx), gone (410), or failed (another status, a timeout, a refused or failed connection).</summary>
public sealed record AttemptOutcome(string Outcome, int? StatusCode, string? Error)
{
    public const string Delivered = "delivered";
    public const string Gone = "gone";
    public const string Failed = "failed";
}

/// <summary>
/// One attempt: a POST of the event's body with the Standard Webhooks headers, signed by the
/// <c>StandardWebhooks</c> library (its <c>Sign</c> is the reference .NET signer; the tests verify
/// with the npm package's <c>Webhook.verify</c>). Several secrets (a rotation's grace period)
/// give several space-separated signatures, which the specification allows: a receiver with
/// either secret verifies. The guarded client connects only to addresses the operator's
/// <c>Switchboard:Outbound</c> allows and follows no redirect; the answer is read up to a bound.
/// </summary>
public sealed class WebhookSender(IHttpClientFactory clients, WebhookOptions options)
{
    public const string ClientName = "webhooks";

    public static string Signature(string eventId, DateTimeOffset timestamp, string body, IEnumerable<string> secrets) =>
        string.Join(' ', secrets.Select(s => new StandardWebhook(s).Sign(eventId, timestamp, body)));

    /// <summary>The attempt's number (from 1), beside the signed headers: receivers may log it; it is not signed.</summary>
    public const string AttemptHeader = "Switchboard-Webhook-Attempt";

    public async Task<AttemptOutcome> SendAsync(string url, string eventId, int attempt, string body, IReadOnlyList<string> secrets, CancellationToken cancellationToken)
    {
        var timestamp = DateTimeOffset.UtcNow;
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("webhook-id", eventId);
        request.Headers.Add("webhook-timestamp", timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", Signature(eventId, timestamp, body, secrets));
        request.Headers.Add(AttemptHeader, attempt.ToString(CultureInfo.InvariantCulture));
        request.Headers.UserAgent.ParseAdd("Switchboard-Webhooks/1");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.RequestTimeout);
        try
        {
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            var answer = await ReadBounded(response, timeout.Token);
            return status switch
            {
                >= 200 and < 300 => new(AttemptOutcome.Delivered, status, null),
                410 => new(AttemptOutcome.Gone, status, answer),
                _ => new(AttemptOutcome.Failed, status, answer),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new(AttemptOutcome.Failed, null, $"no answer within {options.RequestTimeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex)
        {
            return new(AttemptOutcome.Failed, null, OutboundGuard.WasRefused(ex)
                ? "refused: the host resolves only to addresses webhooks may not reach"
                : $"connection failed ({ex.HttpRequestError})");
        }
    }

    /// <summary>Reads at most <see cref="WebhookOptions.MaxResponseBytes"/> of the answer (a receiver cannot make us read forever); its first 200 characters are kept for the log.</summary>
    private async Task<string?> ReadBounded(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[options.MaxResponseBytes];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }
        var text = Encoding.UTF8.GetString(buffer, 0, Math.Min(total, 800));
        return text.Length == 0 ? null : text.Length > 200 ? text[..200] : text;
    }
}
