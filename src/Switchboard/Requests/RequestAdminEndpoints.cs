using Switchboard.Catalog;
using Switchboard.Config;
using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Resources;
using Switchboard.Users;

namespace Switchboard.Requests;

/// <summary>
/// Requests in the admin JSON API (<c>/admin/api</c>, admin keys only): search, read (with the
/// ledger rows of the id), retry a failed one, cancel a queued or running one. The rules are
/// <see cref="RequestAdmin"/>'s, the same the panel's Requests page runs.
/// </summary>
public static class RequestAdminEndpoints
{
    public static RouteGroupBuilder MapRequestsAdmin(this RouteGroupBuilder admin)
    {
        admin.MapGet("/requests", Search).Describe("requests", "search_requests", "Search every user's requests").AnswersJson(200, 400);
        admin.MapGet("/requests/{id}", Get)
            .Describe("requests", "get_request_detail", "A request with its jobs and ledger rows").AnswersJson(200, 404);
        admin.MapPost("/requests/{id}/retry", Retry)
            .Describe("requests", "retry_request", "Run a failed request again (charged again)").AnswersJson(202, 402, 404, 409);
        admin.MapPost("/requests/{id}/cancel", Cancel)
            .Describe("requests", "cancel_request_admin", "Cancel a user's request and refund it").AnswersJson(200, 404, 409);
        admin.MapRequestsBulk();
        return admin;
    }

    private static IResult Search(HttpContext http, Store store)
    {
        var query = http.Request.Query;
        var errors = new List<string>();
        errors.AddRange(query.Where(q => q.Value.Count > 1).Select(q => $"{q.Key} is given more than once"));
        var filter = RequestAdmin.ParseFilter(name => query[name].ToString(), errors);
        if (filter is null || errors.Count > 0)
        {
            return Problems.Of(400, "invalid_filter", "Invalid filter", string.Join("; ", errors), new Dictionary<string, object?> { ["errors"] = errors });
        }
        RequestPage page;
        using (var connection = store.Open())
        {
            page = RequestAdmin.Search(connection, filter);
        }
        return TypedResults.Ok(new JsonObject
        {
            ["requests"] = new JsonArray([.. page.Rows.Select(r => (JsonNode)ToJson(r))]),
            ["before"] = page.Older,
        });
    }

    private static IResult Get(string id, Store store)
    {
        using var connection = store.Open();
        return RequestAdmin.Detail(connection, id) is { } detail ? TypedResults.Ok(detail.Json) : Problems.RequestNotFound();
    }

    private static async Task<IResult> Retry(string id, HttpContext http, RequestLifecycle lifecycle, CatalogCache catalog, AppConfigs configs, IJobQueue queue, ResourceNeeds needs, IResourceGate gate)
    {
        var result = await RequestAdmin.Retry(id, lifecycle, catalog.Current, configs, queue, needs, gate);
        switch (result.Outcome)
        {
            case RetryOutcome.Retried:
                using (var connection = lifecycle.Store.Open())
                {
                    return TypedResults.Json(RequestAdmin.Detail(connection, id)!.Json, statusCode: 202);
                }
            case RetryOutcome.NotFound:
                return Problems.RequestNotFound();
            case RetryOutcome.ResourceExhausted:
                return SubmitEndpoint.ResourceExhausted(http, result.Refusal!);
            case RetryOutcome.InsufficientCredits:
                return Problems.Of(402, "insufficient_credits", "Not enough credits", result.Detail,
                    new Dictionary<string, object?> { ["balance"] = result.Balance, ["price"] = result.Price });
            default:
                return Problem(result);
        }
    }

    /// <summary>The problem of a retry refused for the request's state or the catalog's (nothing was changed).</summary>
    internal static IResult Problem(RetryResult result) => result.Outcome switch
    {
        RetryOutcome.NotFailed => Problems.Of(409, "request_not_failed", "The request has not failed", result.Detail),
        RetryOutcome.OfferNotLive => Problems.Of(409, "offer_not_live", "The offer is not live now", result.Detail),
        RetryOutcome.DealNotLive => Problems.Of(409, "deal_not_live", "The deal is not live now", result.Detail),
        RetryOutcome.InputsChanged => Problems.Of(409, "inputs_changed", "The inputs no longer fit", result.Detail),
        RetryOutcome.NotInstalled => Problems.Of(503, "handler_not_installed", "This action is not available now", result.Detail),
        _ => throw new ArgumentOutOfRangeException(nameof(result), result.Outcome, "not a refusal"),
    };

    private static async Task<IResult> Cancel(string id, HttpContext http, RequestLifecycle lifecycle)
    {
        var (outcome, request) = await RequestAdmin.Cancel(id, http.User().Name, lifecycle);
        switch (outcome)
        {
            case CancelOutcome.NotFound:
                return Problems.RequestNotFound();
            case CancelOutcome.AlreadyFinished:
                return RequestEndpoints.RequestFinished(request!);
            default:
                using (var connection = lifecycle.Store.Open())
                {
                    return TypedResults.Ok(RequestAdmin.Detail(connection, id)!.Json);
                }
        }
    }

    public static JsonObject ToJson(RequestRow r) => new()
    {
        ["id"] = r.Id,
        ["kind"] = r.Kind,
        [r.Kind == "deal" ? "deal" : "offer"] = r.Target,
        ["user"] = r.User,
        ["status"] = r.Status,
        ["price"] = r.Price,
        ["run"] = r.Run,
        ["attempts"] = r.Attempts,
        ["max_attempts"] = r.MaxAttempts,
        ["priority"] = r.Priority,
        ["created_at"] = Clock.Iso(r.CreatedAt),
    };
}
