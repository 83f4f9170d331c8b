using System.Text.Json.Nodes;
using System.Data.Common;
using Switchboard.Storage;
using Switchboard.Fairness;

namespace Switchboard.Lifecycle;

/// <summary>A request row as the API shows it.</summary>
public sealed record RequestRecord(
    string Id, string UserId, string Kind, string Service, string Action, string Status, string Inputs,
    long Price, int Run, int Attempts, int MaxAttempts, string? Results, string? ErrorCode, string? ErrorMessage,
    string? Usage, long CreatedAt, long UpdatedAt, long? StartedAt, long? FinishedAt, long? ExpiresAt, string Handler,
    string Params, string? Parent, string? Progress = null, int Priority = Priorities.Default, string? Endpoint = null)
{
    /// <summary>A deal's step: shown through its deal, not as a request of its own.</summary>
    public bool IsStep => Parent is not null;

    public const string Columns =
        "id, user_id, kind, service, action, status, inputs, price, run, attempts, max_attempts, results, error_code, error_message, usage, created_at, updated_at, started_at, finished_at, expires_at, handler, params, parent, progress, priority, endpoint";

    public static RequestRecord? Load(DbConnection connection, string id)
    {
        using var command = connection.Sql($"SELECT {Columns} FROM requests WHERE id = @id", ("@id", id));
        using var reader = command.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    }

    public static RequestRecord Read(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6),
        r.GetInt64(7), r.GetInt32(8), r.GetInt32(9), r.GetInt32(10), r.StringOrNull(11), r.StringOrNull(12), r.StringOrNull(13),
        r.StringOrNull(14), r.GetInt64(15), r.GetInt64(16), r.LongOrNull(17), r.LongOrNull(18), r.LongOrNull(19), r.GetString(20),
        r.GetString(21), r.StringOrNull(22), r.StringOrNull(23), r.GetInt32(24), r.StringOrNull(25));

    public static string UrlOf(string id) => $"/svc/request/{id}/";

    /// <summary>The client-facing request object (snake_case JSON).</summary>
    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["kind"] = Kind,
        ["service"] = Service,
        ["action"] = Action,
        ["status"] = Status,
        ["inputs"] = JsonNode.Parse(Inputs),
        ["price"] = Price,
        ["results"] = Results is null ? new JsonArray() : JsonNode.Parse(Results),
        ["error"] = ErrorCode is null ? null : new JsonObject { ["code"] = ErrorCode, ["message"] = ErrorMessage },
        ["attempts"] = Attempts,
        ["max_attempts"] = MaxAttempts,
        ["run"] = Run,
        // Resolved at submit (offer, user or plan, Priority header): 0 lowest, 9 highest.
        ["priority"] = Priority,
        ["usage"] = Usage is null ? null : JsonNode.Parse(Usage),
        ["created_at"] = Clock.Iso(CreatedAt),
        ["updated_at"] = Clock.Iso(UpdatedAt),
        ["started_at"] = Clock.Iso(StartedAt),
        ["finished_at"] = Clock.Iso(FinishedAt),
        ["expires_at"] = Clock.Iso(ExpiresAt),
        // The running attempt's last stored report ({fraction, message, at}), or null.
        ["progress"] = Progress is null ? null : JsonNode.Parse(Progress),
        // The endpoint profile that served the request, or its last attempt tried (or, while a
        // fallback waits, the one its next attempt calls); null for handlers that call none.
        ["endpoint"] = Endpoint,
        ["url"] = UrlOf(Id),
    };
}
