using Switchboard.Webhooks;

namespace Switchboard.Admin.Panel.Components.Pages.Webhooks;

/// <summary>How the Webhooks page lists deliveries.</summary>
public static class WebhookRows
{
    /// <summary>Events shown (the newest of each endpoint, merged).</summary>
    public const int Limit = 50;

    /// <summary>Users offered to pick from (those with an endpoint).</summary>
    public const int Owners = 200;

    /// <summary>The last attempt's answer: its status code and outcome, or its error, or "–" before the first.</summary>
    public static string LastResponse(WebhookDeliveryRow row) => (row.LastStatusCode, row.LastOutcome, row.LastError) switch
    {
        (null, null, _) => "–",
        ({ } code, var outcome, _) => $"{code} {outcome}",
        (null, var outcome, { } error) => $"{outcome}: {error}",
        (null, var outcome, null) => outcome!,
    };
}
