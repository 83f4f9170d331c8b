using System.Data.Common;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Switchboard.Webhooks;

/// <summary>A user's webhook endpoint as its owner sees it (never its secret).</summary>
public sealed record WebhookEndpoint(
    string Id, string UserId, string Url, long EventMask, bool Enabled, string? DisabledReason, long CreatedAt, long UpdatedAt)
{
    public const string Columns = "id, user_id, url, event_mask, enabled, disabled_reason, created_at, updated_at";

    public static WebhookEndpoint Read(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4) != 0, r.StringOrNull(5), r.GetInt64(6), r.GetInt64(7));

    public JsonObject ToJson(string? secret = null)
    {
        var json = new JsonObject
        {
            ["id"] = Id,
            ["url"] = Url,
            ["events"] = new JsonArray([.. WebhookEvents.Names(EventMask).Select(e => (JsonNode)e)]),
            ["enabled"] = Enabled,
            ["disabled_reason"] = DisabledReason,
            ["created_at"] = Clock.Iso(CreatedAt),
            ["updated_at"] = Clock.Iso(UpdatedAt),
        };
        if (secret is not null)
        {
            json["secret"] = secret;
        }
        return json;
    }
}

/// <summary>The SQL of users' webhook endpoints, their secrets and their delivery log (both stores).</summary>
public static class WebhookStore
{
    public static string NewId() => "wh_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary>Creates an endpoint unless the user has <paramref name="max"/> already (null then). Runs in a write unit, so the count holds.</summary>
    public static WebhookEndpoint? Create(DbConnection c, string userId, string url, long mask, string sealedSecret, long now, int max)
    {
        if (c.Scalar<long>("SELECT COUNT(*) FROM webhook_endpoints WHERE user_id = @user", ("@user", userId)) >= max)
        {
            return null;
        }
        var id = NewId();
        c.Execute(
            """
            INSERT INTO webhook_endpoints (id, user_id, url, event_mask, enabled, secret, created_at, updated_at)
            VALUES (@id, @user, @url, @mask, 1, @secret, @now, @now)
            """,
            ("@id", id), ("@user", userId), ("@url", url), ("@mask", mask), ("@secret", sealedSecret), ("@now", now));
        return Find(c, userId, id);
    }

    public static List<WebhookEndpoint> List(DbConnection c, string userId)
    {
        using var command = c.Sql($"SELECT {WebhookEndpoint.Columns} FROM webhook_endpoints WHERE user_id = @user ORDER BY created_at, id", ("@user", userId));
        using var reader = command.ExecuteReader();
        var list = new List<WebhookEndpoint>();
        while (reader.Read())
        {
            list.Add(WebhookEndpoint.Read(reader));
        }
        return list;
    }

    /// <summary>The user's endpoint of this id; null when there is none, or it is another user's.</summary>
    public static WebhookEndpoint? Find(DbConnection c, string userId, string id)
    {
        using var command = c.Sql($"SELECT {WebhookEndpoint.Columns} FROM webhook_endpoints WHERE id = @id AND user_id = @user", ("@id", id), ("@user", userId));
        using var reader = command.ExecuteReader();
        return reader.Read() ? WebhookEndpoint.Read(reader) : null;
    }

    /// <summary>Changes what is given; enabling again clears the reason it was disabled.</summary>
    public static WebhookEndpoint? Update(DbConnection c, string userId, string id, string? url, long? mask, bool? enabled, long now)
    {
        var changed = c.Execute(
            """
            UPDATE webhook_endpoints SET url = COALESCE(@url, url), event_mask = COALESCE(@mask, event_mask),
                enabled = COALESCE(@enabled, enabled),
                disabled_reason = CASE WHEN @enabled IS NULL THEN disabled_reason WHEN @enabled = 1 THEN NULL ELSE 'disabled by its owner' END,
                updated_at = @now
            WHERE id = @id AND user_id = @user
            """,
            ("@url", url), ("@mask", mask), ("@enabled", enabled is null ? null : enabled.Value ? 1L : 0L), ("@now", now), ("@id", id), ("@user", userId));
        return changed == 1 ? Find(c, userId, id) : null;
    }

    /// <summary>Deletes the endpoint; its undelivered events are skipped (its delivery log stays until the events are pruned).</summary>
    public static bool Delete(DbConnection c, string userId, string id, long now)
    {
        if (c.Execute("DELETE FROM webhook_endpoints WHERE id = @id AND user_id = @user", ("@id", id), ("@user", userId)) != 1)
        {
            return false;
        }
        SkipPending(c, id, now);
        return true;
    }

    /// <summary>An endpoint's undelivered events end as <c>skipped</c> (deleted, or disabled by a 410).</summary>
    public static int SkipPending(DbConnection c, string endpointId, long now) => c.Execute(
        "UPDATE webhook_events SET status = 'skipped', lease_until = NULL, finished_at = @now WHERE endpoint_id = @endpoint AND status = 'pending'",
        ("@endpoint", endpointId), ("@now", now));

    /// <summary>A new secret for the endpoint; the current one signs beside it until <paramref name="previousUntil"/>.</summary>
    public static bool Rotate(DbConnection c, string userId, string id, string sealedSecret, long previousUntil, long now) => c.Execute(
        """
        UPDATE webhook_endpoints SET previous_secret = secret, previous_until = @until, secret = @secret, updated_at = @now
        WHERE id = @id AND user_id = @user
        """,
        ("@until", previousUntil), ("@secret", sealedSecret), ("@now", now), ("@id", id), ("@user", userId)) == 1;

    /// <summary>A new secret for the user's one-off URLs (made on first use); the current one, if any, signs beside it until <paramref name="previousUntil"/>.</summary>
    public static void RotateUserSecret(DbConnection c, string userId, string sealedSecret, long previousUntil, long now) => c.Execute(
        """
        INSERT INTO webhook_user_secrets (user_id, secret, created_at) VALUES (@user, @secret, @now)
        ON CONFLICT (user_id) DO UPDATE SET previous_secret = webhook_user_secrets.secret, previous_until = @until,
            secret = excluded.secret, created_at = excluded.created_at
        """,
        ("@user", userId), ("@secret", sealedSecret), ("@now", now), ("@until", previousUntil));

    /// <summary>The sealed secrets that sign for an endpoint (or, with a null endpoint, the user's one-offs): current, and the previous one while its grace lasts.</summary>
    public static (string? Current, string? Previous) Secrets(DbConnection c, string? endpointId, string userId, long now)
    {
        using var command = endpointId is null
            ? c.Sql("SELECT secret, previous_secret, previous_until FROM webhook_user_secrets WHERE user_id = @user", ("@user", userId))
            : c.Sql("SELECT secret, previous_secret, previous_until FROM webhook_endpoints WHERE id = @id", ("@id", endpointId));
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return (null, null);
        }
        var previous = reader.StringOrNull(1) is { } p && reader.LongOrNull(2) is { } until && until > now ? p : null;
        return (reader.GetString(0), previous);
    }

    /// <summary>
    /// The endpoint's delivery log, newest first: each attempt with its event, and events not
    /// attempted yet. <paramref name="before"/> pages on the event's sequence.
    /// </summary>
    public static (JsonArray Items, long? Next) Deliveries(DbConnection c, string endpointId, long? before, int limit)
    {
        var events = new List<(long Seq, JsonObject Json)>();
        using (var command = c.Sql(
            """
            SELECT seq, id, type, request_id, run, status, attempts, next_at, created_at, finished_at FROM webhook_events
            WHERE endpoint_id = @endpoint AND seq < @before ORDER BY seq DESC LIMIT @limit
            """,
            ("@endpoint", endpointId), ("@before", before ?? long.MaxValue), ("@limit", limit + 1)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                events.Add((reader.GetInt64(0), new JsonObject
                {
                    ["event_id"] = reader.GetString(1),
                    ["type"] = reader.GetString(2),
                    ["request_id"] = reader.GetString(3),
                    ["run"] = reader.GetInt32(4),
                    ["status"] = reader.GetString(5),
                    ["attempts"] = reader.GetInt32(6),
                    ["next_attempt_at"] = reader.GetString(5) == "pending" ? Clock.Iso(reader.GetInt64(7)) : null,
                    ["created_at"] = Clock.Iso(reader.GetInt64(8)),
                    ["finished_at"] = Clock.Iso(reader.LongOrNull(9)),
                }));
            }
        }
        var more = events.Count > limit;
        if (more)
        {
            events.RemoveAt(events.Count - 1);
        }
        foreach (var (_, json) in events)
        {
            json["deliveries"] = Attempts(c, json["event_id"]!.GetValue<string>());
        }
        return (new JsonArray([.. events.Select(e => (JsonNode)e.Json)]), more ? events[^1].Seq : null);
    }

    private static JsonArray Attempts(DbConnection c, string eventId)
    {
        using var command = c.Sql(
            "SELECT seq, attempt, started_at, finished_at, outcome, status_code, error FROM webhook_attempts WHERE event_id = @event ORDER BY attempt",
            ("@event", eventId));
        using var reader = command.ExecuteReader();
        var list = new JsonArray();
        while (reader.Read())
        {
            list.Add(new JsonObject
            {
                ["id"] = reader.GetInt64(0),
                ["attempt"] = reader.GetInt32(1),
                ["started_at"] = Clock.Iso(reader.GetInt64(2)),
                ["finished_at"] = Clock.Iso(reader.LongOrNull(3)),
                ["outcome"] = reader.StringOrNull(4),
                ["status_code"] = reader.IsDBNull(5) ? null : reader.GetInt32(5),
                ["error"] = reader.StringOrNull(6),
            });
        }
        return list;
    }

    /// <summary>
    /// Sends an event of the endpoint again: <paramref name="which"/> is its event id or the id of
    /// one of its deliveries. It becomes due now, with a fresh retry window; its next attempt
    /// is a new row of the log. Null when the endpoint has no such event.
    /// </summary>
    public static string? Resend(DbConnection c, string endpointId, string which, long now)
    {
        var eventId = long.TryParse(which, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seq)
            ? c.Scalar<string>("SELECT a.event_id FROM webhook_attempts a JOIN webhook_events e ON e.id = a.event_id WHERE a.seq = @seq AND e.endpoint_id = @endpoint",
                ("@seq", seq), ("@endpoint", endpointId))
            : which;
        if (eventId is null)
        {
            return null;
        }
        return c.Execute(
            """
            UPDATE webhook_events SET status = 'pending', next_at = @now, window_from = @now, lease_until = NULL, finished_at = NULL
            WHERE id = @id AND endpoint_id = @endpoint
            """,
            ("@now", now), ("@id", eventId), ("@endpoint", endpointId)) == 1 ? eventId : null;
    }
}
