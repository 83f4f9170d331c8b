using System.Globalization;
using System.Text.Json.Nodes;
using Switchboard.Users;

namespace Switchboard.Requests;

/// <summary>
/// Bulk retry and cancel in the admin JSON API: <c>POST /admin/api/requests/retry</c> and
/// <c>/cancel</c> take the filter of <c>GET /admin/api/requests</c> in the query, and
/// <c>dry_run=true</c> for the count and the credits without doing anything. The rules are
/// <see cref="RequestActions"/>'s, the same the panel's Requests page runs. An unknown parameter is
/// refused (a misspelt <c>dry_run</c> must not act).
/// </summary>
public static class RequestBulkEndpoints
{
    private static readonly string[] Known = ["status", "user", "offer", "deal", "from", "to", "limit", "dry_run"];

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
        var query = http.Request.Query;
        if (query.Keys.FirstOrDefault(k => !Known.Contains(k)) is { } unknown)
        {
            return Problems.Of(400, "unknown_parameter", "Unknown query parameter",
                $"'{(unknown.Length > 40 ? unknown[..40] + "…" : unknown)}' is not a parameter of this endpoint; it takes {string.Join(", ", Known)}.");
        }
        var errors = new List<string>();
        errors.AddRange(query.Where(q => q.Value.Count > 1).Select(q => $"{q.Key} is given more than once"));
        // The limit here is the batch's, up to RequestActions.MaxBatch, not a search page's.
        var filter = RequestAdmin.ParseFilter(name => name == "limit" ? null : query[name].ToString(), errors);
        var status = query["status"].ToString().Trim();
        if (filter is not null && status.Length > 0 && !RequestActions.StatusesOf(action).Contains(status))
        {
            errors.Add($"status must be {string.Join(" or ", RequestActions.StatusesOf(action))} (or absent) for a bulk {Name(action)}");
        }
        if (filter is null || errors.Count > 0)
        {
            return Problems.Of(400, "invalid_filter", "Invalid filter", string.Join("; ", errors), new Dictionary<string, object?> { ["errors"] = errors });
        }
        var limit = RequestActions.MaxBatch;
        if (query["limit"].ToString() is { Length: > 0 } l
            && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > RequestActions.MaxBatch))
        {
            return Problems.Of(400, "invalid_limit", "Limit out of range", $"limit is a whole number from 1 to {RequestActions.MaxBatch} (default {RequestActions.MaxBatch}).");
        }
        bool dryRun;
        switch (query["dry_run"].ToString())
        {
            case "" or "false" or "0":
                dryRun = false;
                break;
            case "true" or "1":
                dryRun = true;
                break;
            default:
                return Problems.Of(400, "invalid_query", "Malformed dry_run", "dry_run is true or false.");
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
