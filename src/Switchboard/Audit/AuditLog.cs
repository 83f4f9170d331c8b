using System.Data.Common;

namespace Switchboard.Audit;

/// <summary>One action an admin or operator took: who, when, from where, what, on what, and what changed (secrets redacted).</summary>
/// <param name="Channel">How it came: <c>api</c> (the admin API), <c>panel</c> or <c>cli</c>.</param>
/// <param name="Address">The client's address (api, panel); null from the CLI.</param>
/// <param name="Status">The HTTP status answered (api, panel) or the exit code (cli).</param>
/// <param name="Details">A compact JSON object of the request's fields, redacted by <see cref="AuditRedaction"/>.</param>
public sealed record AuditEntry(long Id, long At, string Actor, string Channel, string? Address, string Action, string? Target, int? Status, string? Details)
{
    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["at"] = Clock.Iso(At),
        ["actor"] = Actor,
        ["channel"] = Channel,
        ["address"] = Address,
        ["action"] = Action,
        ["target"] = Target,
        ["status"] = Status,
        ["details"] = Details is null ? null : JsonNode.Parse(Details),
    };
}

/// <summary>The filters of a read of the trail: each optional; newest first; <see cref="Before"/> is the id to page back from.</summary>
public sealed record AuditFilter(string? Actor = null, string? Action = null, string? Target = null, long? SinceMs = null, long? UntilMs = null, long? Before = null, int Limit = AuditLog.DefaultLimit);

/// <summary>
/// The audit trail (table <c>audit_log</c>): rows are only ever inserted. The store refuses
/// UPDATE and DELETE on it (migration triggers), and no code here or elsewhere issues them.
/// Recording points: <see cref="AuditFilters"/> (every non-GET of the admin API and the panel),
/// and <c>Cli.CommandLine</c> (every command that changes something).
/// </summary>
public static class AuditLog
{
    public const string Api = "api";
    public const string Panel = "panel";
    public const string Cli = "cli";

    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    /// <summary>Longest details kept in full; a longer record keeps its size and hash only.</summary>
    public const int MaxDetailsChars = 16 * 1024;

    private const int MaxShortText = 300;

    public static void Record(DbConnection connection, string actor, string channel, string? address, string action, string? target, int? status, JsonObject? details)
    {
        var json = details?.ToJsonString();
        if (json is { Length: > MaxDetailsChars })
        {
            json = new JsonObject { ["truncated"] = true, ["chars"] = json.Length, ["sha256"] = Config.ConfigStore.HashOf(json) }.ToJsonString();
        }
        connection.Execute(
            """
            INSERT INTO audit_log (at, actor, channel, address, action, target, status, details)
            VALUES (@at, @actor, @channel, @address, @action, @target, @status, @details)
            """,
            ("@at", Clock.NowMs()), ("@actor", Short(actor)), ("@channel", channel), ("@address", address), ("@action", Short(action)),
            ("@target", target is null ? null : Short(AuditRedaction.Target(target))), ("@status", status), ("@details", json));
    }

    private static string Short(string text) => AuditRedaction.Clean(text.Length > MaxShortText ? text[..MaxShortText] + "…" : text);

    /// <summary>The rows that pass every filter given, newest first, at most <see cref="AuditFilter.Limit"/> (clamped to 1..<see cref="MaxLimit"/>).</summary>
    public static List<AuditEntry> Read(DbConnection connection, AuditFilter filter)
    {
        var where = new List<string>();
        var args = new List<(string, object?)>();
        void Add(string clause, string name, object? value)
        {
            if (value is not null)
            {
                where.Add(clause);
                args.Add((name, value));
            }
        }
        Add("actor = @actor", "@actor", filter.Actor);
        Add("action = @action", "@action", filter.Action);
        Add("target = @target", "@target", filter.Target);
        Add("at >= @since", "@since", filter.SinceMs);
        Add("at < @until", "@until", filter.UntilMs);
        Add("id < @before", "@before", filter.Before);
        args.Add(("@limit", Math.Clamp(filter.Limit, 1, MaxLimit)));
        using var command = connection.Sql(
            $"""
            SELECT id, at, actor, channel, address, action, target, status, details FROM audit_log
            {(where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where))}
            ORDER BY id DESC LIMIT @limit
            """,
            [.. args]);
        using var reader = command.ExecuteReader();
        var list = new List<AuditEntry>();
        while (reader.Read())
        {
            list.Add(new AuditEntry(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.StringOrNull(4),
                reader.GetString(5), reader.StringOrNull(6), reader.IntOrNull(7), reader.StringOrNull(8)));
        }
        return list;
    }

    /// <summary>A page of rows as the admin API and the CLI print it: the rows, and the id to page back from when there may be more.</summary>
    public static JsonObject Page(List<AuditEntry> rows, int limit) => new()
    {
        ["entries"] = new JsonArray([.. rows.Select(r => (JsonNode)r.ToJson())]),
        ["next_before"] = rows.Count == Math.Clamp(limit, 1, MaxLimit) && rows.Count > 0 ? rows[^1].Id : null,
    };
}
