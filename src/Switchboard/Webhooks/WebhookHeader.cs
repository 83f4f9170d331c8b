using Microsoft.Extensions.Options;
using Switchboard.Outbound;

namespace Switchboard.Webhooks;

/// <summary>
/// A submission's one-off completion webhook: <c>Switchboard-Webhook: &lt;url&gt;</c>, checked with
/// the registration's rules (<see cref="WebhookUrls"/>) before anything is charged. It is not
/// part of the request id; it is stored with the run the submission creates (a duplicate of a
/// live request changes nothing), and signed with the user's own secret.
/// </summary>
public static class WebhookHeader
{
    public const string Name = "Switchboard-Webhook";

    /// <summary>The checked URL (null without the header), or the problem to answer. Without the header this is one dictionary look-up.</summary>
    public static (string? Url, IResult? Problem) Read(HttpContext http)
    {
        if (!http.Request.Headers.TryGetValue(Name, out var values))
        {
            return (null, null);
        }
        if (values.Count != 1)
        {
            return (null, Problems.Of(400, "invalid_webhook_url", "The webhook URL is not valid", $"Send one {Name} header."));
        }
        var services = http.RequestServices;
        return WebhookUrls.Check(values[0], services.GetRequiredService<WebhookOptions>(), services.GetRequiredService<IOptions<OutboundOptions>>().Value);
    }
}
