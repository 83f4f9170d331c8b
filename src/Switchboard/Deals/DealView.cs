using System.Data.Common;
using System.Text.Json.Nodes;
using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Deals;

/// <summary>
/// A deal's request object: the request's fields, the chosen <c>addons</c>, its <c>steps</c> in
/// execution order and the aggregate status. The deal's row says <c>running</c> until its last
/// step ends; what a client sees meanwhile is <c>queued</c> until a step has started, then <c>running</c>.
/// </summary>
public static class DealView
{
    /// <summary>A queued step of a deal: its place in the object, and what its job is (to show where it waits).</summary>
    public sealed record QueuedStep(JsonObject Json, string Handler, JobMessage Job);

    /// <param name="queued">When given, receives the steps that are queued now.</param>
    public static JsonObject ToJson(DbConnection connection, RequestRecord deal, List<QueuedStep>? queued = null)
    {
        var json = deal.ToJson();
        var steps = new JsonArray();
        var started = false;
        long? startedAt = null;
        using (var command = connection.Sql(
            """
            SELECT step, service, action, pipeline, status, results, error_code, error_message, price, attempts, started_at, finished_at, id, handler
            FROM requests WHERE parent = @id AND run = @run ORDER BY step
            """,
            ("@id", deal.Id), ("@run", deal.Run)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var status = reader.GetString(4);
                var stepStarted = reader.LongOrNull(10);
                started |= stepStarted is not null || status is not (RequestStatus.Queued or RequestStatus.Waiting);
                startedAt = stepStarted is { } s && (startedAt is null || s < startedAt) ? s : startedAt;
                var step = new JsonObject
                {
                    ["step"] = reader.GetInt32(0),
                    ["offer"] = reader.GetString(1) + "/" + reader.GetString(2),
                    ["pipeline"] = reader.GetString(3),
                    ["status"] = status,
                    ["results"] = reader.IsDBNull(5) ? new JsonArray() : JsonNode.Parse(reader.GetString(5)),
                    ["error"] = reader.IsDBNull(6) ? null : new JsonObject { ["code"] = reader.GetString(6), ["message"] = reader.StringOrNull(7) },
                    ["price"] = reader.GetInt64(8),
                    ["attempts"] = reader.GetInt32(9),
                    ["started_at"] = Clock.Iso(stepStarted),
                    ["finished_at"] = Clock.Iso(reader.LongOrNull(11)),
                };
                steps.Add(step);
                if (status == RequestStatus.Queued)
                {
                    queued?.Add(new QueuedStep(step, reader.GetString(13), new JobMessage(reader.GetString(12), deal.Run, reader.GetString(13), deal.UserId)));
                }
            }
        }
        if (deal.Status == RequestStatus.Running && !started)
        {
            json["status"] = RequestStatus.Queued;
        }
        json["deal"] = deal.Action;
        json["addons"] = JsonNode.Parse(deal.Params)?["addons"]?.DeepClone() ?? new JsonArray();
        json["started_at"] = Clock.Iso(startedAt);
        json["steps"] = steps;
        return json;
    }
}
