using System.Data.Common;

namespace Switchboard.Webhooks;

/// <summary>One event of an endpoint's outbox as the panel lists it, with its last attempt's outcome.</summary>
public sealed record WebhookDeliveryRow(
    long Seq, string EventId, string EndpointId, string Type, string RequestId, int Run, string Status, int Attempts,
    int? LastStatusCode, string? LastOutcome, string? LastError, long? NextAt, long CreatedAt, long? FinishedAt);

/// <summary>
/// A user's recent webhook deliveries across its endpoints, newest first, for the admin panel
/// (the admin API lists them per endpoint: <see cref="WebhookStore.Deliveries"/>). Each endpoint's
/// newest events are read through <c>webhook_events_endpoint</c> (endpoint, seq), at most
/// <c>limit</c> of each, then merged: the cost follows the user's endpoints (at most
/// <see cref="WebhookOptions.MaxEndpointsPerUser"/>), never the size of the outbox. Events of
/// one-off <c>Switchboard-Webhook</c> URLs and of deleted endpoints are not listed.
/// </summary>
public static class WebhookDeliveryLog
{
    /// <summary>The statuses an event can have (the filter's choices).</summary>
    public static readonly IReadOnlyList<string> Statuses = ["pending", "delivered", "failed", "skipped"];

    public static List<WebhookDeliveryRow> Recent(DbConnection c, IEnumerable<WebhookEndpoint> endpoints, string? status, int limit)
    {
        var rows = new List<WebhookDeliveryRow>();
        foreach (var endpoint in endpoints)
        {
            using var command = c.Sql(
                $"""
                SELECT e.seq, e.id, e.endpoint_id, e.type, e.request_id, e.run, e.status, e.attempts, e.next_at, e.created_at, e.finished_at,
                    a.status_code, a.outcome, a.error
                FROM webhook_events e
                LEFT JOIN webhook_attempts a ON a.event_id = e.id AND a.attempt = (SELECT MAX(attempt) FROM webhook_attempts WHERE event_id = e.id)
                WHERE e.endpoint_id = @endpoint{(status is null ? "" : " AND e.status = @status")}
                ORDER BY e.seq DESC LIMIT @limit
                """,
                status is null ? [("@endpoint", endpoint.Id), ("@limit", limit)] : [("@endpoint", endpoint.Id), ("@status", status), ("@limit", limit)]);
            using var r = command.ExecuteReader();
            while (r.Read())
            {
                var pending = r.GetString(6) == "pending";
                rows.Add(new WebhookDeliveryRow(
                    r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetInt32(5), r.GetString(6), r.GetInt32(7),
                    r.IsDBNull(11) ? null : r.GetInt32(11), r.StringOrNull(12), r.StringOrNull(13), pending ? r.GetInt64(8) : null, r.GetInt64(9), r.LongOrNull(10)));
            }
        }
        return [.. rows.OrderByDescending(row => row.Seq).Take(limit)];
    }

    /// <summary>
    /// Sends an event of one of the user's endpoints again (<see cref="WebhookStore.Resend"/>, as
    /// the admin API's resend does): its id, or null when no endpoint of the user has it.
    /// </summary>
    public static string? Redeliver(DbConnection c, string userId, string eventId, long now) =>
        c.Scalar<string>("SELECT endpoint_id FROM webhook_events WHERE id = @id", ("@id", eventId)) is { } endpoint
            && WebhookStore.Find(c, userId, endpoint) is not null
            ? WebhookStore.Resend(c, endpoint, eventId, now)
            : null;

    /// <summary>The names of users who have an endpoint (the panel's choice of user), at most <paramref name="limit"/>.</summary>
    public static List<string> Owners(DbConnection c, int limit)
    {
        using var command = c.Sql(
            "SELECT u.name FROM users u WHERE u.id IN (SELECT user_id FROM webhook_endpoints) ORDER BY u.name LIMIT @limit", ("@limit", limit));
        using var r = command.ExecuteReader();
        var names = new List<string>();
        while (r.Read())
        {
            names.Add(r.GetString(0));
        }
        return names;
    }
}
