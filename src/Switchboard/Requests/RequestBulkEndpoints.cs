using System.Globalization;
using System.Text.Json;
using Switchboard.Users;

namespace Switchboard.Requests;

/// <summary>
/// Bulk retry and cancel in the admin JSON API: <c>POST /admin/api/requests/retry</c> and
/// <c>/cancel</c> take the filter of <c>GET /admin/api/requests</c> as a JSON body
/// (<c>{"status", "user", "offer", "deal", "from", "to", "limit", "dry_run"}</c>), and
/// <c>"dry_run": true</c> for the count and the credits without doing anything. A body, not the
/// query: a POST without one, malformed, or with an unknown field (a misspelt <c>dry_run</c>) is
/// refused instead of acting on every request. The rules are <see cref="RequestActions"/>'s, the
/// same the panel's Requests page runs.
/// </summary>
public static class RequestBulkEndpoints
{
    private const int MaxBodyBytes = 4096;

    private static readonly string[] Fields = ["status", "user", "offer", "deal", "from", "to", "limit", "dry_run"];

    private static readonly string Shape = "{" + string.Join(", ", Fields.Select(f => $"\"{f}\"")) + "}";

    public static RouteGroupBuilder MapRequestsBulk(this RouteGroupBuilder admin)
    {
        admin.MapPost("/requests/retry", (HttpContext http, RequestActions actions) => Act(http, actions, BulkAction.Retry))
            .Describe("requests", "retry_requests", "Retry the failed requests a filter matches (each charged again), or preview them").AnswersJson(200, 400);
        admin.MapPost("/requests/cancel", (HttpContext http, RequestActions actions) => Act(http, actions, BulkAction.Cancel))
            .Describe("requests", "cancel_requests", "Cancel the queued and running requests a filter matches (each refunded), or preview them").AnswersJson(200, 400);
        return admin;
    }

    private static async Task<IResult> Act(HttpContext http, RequestActions actions, BulkAction action)
    {
        if (http.Request.Query.Count > 0)
        {
            return Problems.Of(400, "unknown_parameter", "Unknown query parameter",
                $"This endpoint takes no query parameters: its filter is the JSON body {Shape}.");
        }
        var (body, problem) = await AdminJson.Read(http.Request, MaxBodyBytes, Shape, Fields);
        if (body is null)
        {
            return problem!;
        }
        var errors = new List<string>();
        string? Text(string name)
        {
            switch (body[name])
            {
                case null:
                    return null;
                case JsonValue v when v.TryGetValue<string>(out var text):
                    return text;
                // Times may be Unix milliseconds as a number, as in the query of the search.
                case JsonValue v when name is "from" or "to" && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var ms):
                    return ms.ToString(CultureInfo.InvariantCulture);
                default:
                    errors.Add($"{name} must be a string{(name is "from" or "to" ? " or Unix milliseconds" : "")}");
                    return null;
            }
        }
        // The limit here is the batch's, up to RequestActions.MaxBatch, not a search page's; no page cursor.
        var filter = RequestAdmin.ParseFilter(name => name is "limit" or "before" ? null : Text(name), errors);
        var status = Text("status");
        if (filter is not null && errors.Count == 0 && status is { Length: > 0 } && !RequestActions.StatusesOf(action).Contains(status.Trim()))
        {
            errors.Add($"status must be {string.Join(" or ", RequestActions.StatusesOf(action))} (or absent) for a bulk {Name(action)}");
        }
        if (filter is null || errors.Count > 0)
        {
            return Problems.Of(400, "invalid_filter", "Invalid filter", string.Join("; ", errors), new Dictionary<string, object?> { ["errors"] = errors });
        }
        var limit = RequestActions.MaxBatch;
        if (body["limit"] is { } l && (l is not JsonValue lv || lv.GetValueKind() != JsonValueKind.Number || !lv.TryGetValue(out limit) || limit < 1 || limit > RequestActions.MaxBatch))
        {
            return Problems.Of(400, "invalid_limit", "Limit out of range", $"limit is a whole number from 1 to {RequestActions.MaxBatch} (default {RequestActions.MaxBatch}).");
        }
        var dryRun = false;
        if (body["dry_run"] is { } d && (d is not JsonValue dv || !dv.TryGetValue(out dryRun)))
        {
            return Problems.Of(400, "invalid_body", "Malformed dry_run", "dry_run is true or false.");
        }
        var preview = actions.Preview(filter, action, limit);
        var answer = new JsonObject
        {
            ["action"] = Name(action),
            ["dry_run"] = dryRun,
            ["count"] = preview.Items.Count,
            ["more"] = preview.More,
            ["max_batch"] = RequestActions.MaxBatch,
        };
        if (dryRun)
        {
            answer["credits"] = preview.Credits;
            answer["blocked"] = preview.Blocked;
            answer["requests"] = new JsonArray([.. preview.Items.Select(i => (JsonNode)new JsonObject
            {
                ["id"] = i.Id,
                ["run"] = i.Run,
                ["kind"] = i.Kind,
                [i.Kind == "deal" ? "deal" : "offer"] = i.Target,
                ["user"] = i.User,
                ["status"] = i.Status,
                ["credits"] = i.Credits,
                ["note"] = i.Note,
            })]);
            return TypedResults.Ok(answer);
        }
        var result = await actions.ApplyAsync(action, [.. preview.Items.Select(i => (i.Id, i.Run))], http.User().Name);
        answer["done"] = result.Done;
        answer["skipped"] = result.Skipped;
        answer["refused"] = result.Refused;
        answer["credits"] = result.Credits;
        answer["requests"] = new JsonArray([.. result.Items.Select(i => (JsonNode)new JsonObject { ["id"] = i.Id, ["outcome"] = i.Outcome, ["detail"] = i.Detail })]);
        return TypedResults.Ok(answer);
    }

    public static string Name(BulkAction action) => action == BulkAction.Retry ? "retry" : "cancel";
}
