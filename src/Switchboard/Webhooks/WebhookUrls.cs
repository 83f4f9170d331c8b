using System.Net;
using Microsoft.AspNetCore.Http.HttpResults;
using Switchboard.Errors;
using Switchboard.Outbound;

namespace Switchboard.Webhooks;

/// <summary>
/// The rules a webhook URL must meet when it is registered or named by a request's
/// <c>Switchboard-Webhook</c> header: absolute, https (http only with
/// <see cref="WebhookOptions.AllowHttp"/>), no user name or password, no fragment, at most
/// <see cref="WebhookOptions.MaxUrlLength"/> characters. A literal IP address or <c>localhost</c>
/// that <see cref="AddressPolicy"/> refuses under the operator's <c>Switchboard:Outbound</c> is
/// refused at once; a DNS name is checked when each attempt connects
/// (<see cref="OutboundGuard"/>), so a name that later resolves to a refused address
/// (DNS rebinding) is refused then.
/// </summary>
public static class WebhookUrls
{
    /// <summary>The URL as it will be called, or the problem to answer.</summary>
    public static (string? Url, ProblemHttpResult? Problem) Check(string? text, WebhookOptions options, OutboundOptions outbound)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > options.MaxUrlLength)
        {
            return (null, Invalid($"A webhook URL is absolute and at most {options.MaxUrlLength} characters."));
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Host.Length == 0 || text.Any(char.IsWhiteSpace))
        {
            return (null, Invalid("The webhook URL is not an absolute URL."));
        }
        if (uri.Scheme != Uri.UriSchemeHttps && !(uri.Scheme == Uri.UriSchemeHttp && options.AllowHttp))
        {
            return (null, Invalid(options.AllowHttp ? "A webhook URL is https or http." : "A webhook URL is https."));
        }
        if (uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            return (null, Invalid("A webhook URL carries no user name, password or fragment."));
        }
        var host = uri.IdnHost.Trim('[', ']');
        var address = IPAddress.TryParse(host, out var literal) ? literal
            : host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : null;
        if (address is not null && !AddressPolicy.IsAllowed(address, outbound))
        {
            return (null, Problems.Of(400, "webhook_url_refused", "The webhook URL is refused",
                "Webhooks may not reach loopback, private, link-local or metadata addresses unless the operator allows them."));
        }
        return (uri.AbsoluteUri, null);
    }

    private static ProblemHttpResult Invalid(string detail) => Problems.Of(400, "invalid_webhook_url", "The webhook URL is not valid", detail);
}
