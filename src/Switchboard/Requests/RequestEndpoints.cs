using System.Data.Common;
using System.Text.RegularExpressions;
using Switchboard.Observability;
using Switchboard.Credits;
using Switchboard.Errors;
using System.Text.Json.Nodes;
using Switchboard.Lifecycle;
using Switchboard.Config;
using Switchboard.OpenApi;
using Switchboard.Queue;
using Switchboard.Resources;
using Switchboard.Storage;
using Switchboard.Users;
using Switchboard.Webhooks;

namespace Switchboard.Requests;

/// <summary>The client API under <c>/svc</c> that needs an API key: submit, read, cancel, who am I.</summary>
public static partial class RequestEndpoints
{
    [GeneratedRegex("^[0-9a-f]{32}\\z")]
    private static partial Regex RequestId();

    /// <summary>Whether <paramref name="id"/> has the shape of a request id (32 lowercase hex characters).</summary>
    internal static bool IsRequestId(string id) => RequestId().IsMatch(id);

    public static IEndpointRouteBuilder MapRequestEndpoints(this IEndpointRouteBuilder app)
    {
        var svc = app.MapGroup("/svc").WithRequestLogScope().WithStoreErrors().RequireApiKey()
            .RequiresApiKeyInOpenApi().ProducesProblem(401).ProducesProblem(503);
        svc.MapAccountEndpoints();
        svc.MapWebhookEndpoints();
        svc.MapRequestList();
        svc.MapGet("/request/{id}/", Get)
            .WithName("get_request").WithTags("requests").WithSummary("A request: its status, results or error")
            .Produces<RequestView>().ProducesProblem(400).ProducesProblem(404);
        svc.MapGet("/request/{id}/ws", LiveStatusSocket.Handle)
            .WithName("follow_request").WithTags("requests").WithSummary("Live status over a WebSocket")
            .WithDescription("A WebSocket upgrade. The server sends the request object (text frames, as GET /svc/request/{id}/ "
                + "shows it) at once and at each change, then closes with 1000 and the final status (1001 when the server stops).")
            .Produces(StatusCodes.Status101SwitchingProtocols).ProducesProblem(400).ProducesProblem(404).ProducesProblem(429);
        // Outside the group's key filter: a browser's EventSource sends the stream_url's token instead.
        app.MapGroup("/svc").WithRequestLogScope().WithStoreErrors().RequiresApiKeyInOpenApi().ProducesProblem(401).ProducesProblem(503)
            .MapGet("/request/{id}/events", RequestEventStream.Handle)
            .WithName("stream_request").WithTags("requests").WithSummary("Live status, progress and output as Server-Sent Events")
            .WithDescription("Events: status (the request object as GET shows it), progress (its progress object), partial (a piece "
                + "of streamed output; best-effort, no id), result (the results, once, when it succeeded), end (the final status; "
                + "then the stream closes). Send Last-Event-ID to resume: what you have not seen is sent from the stored request. "
                + "Event ids are opaque. Authorization: Bearer <key>, or ?token= from the stream_url of the 202 answer "
                + "(it opens this request's stream only). 204 when you have seen the end already.")
            .Produces<string>(StatusCodes.Status200OK, "text/event-stream").Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(429)
            .RequireCors(EventStreamCors.Policy);
        svc.MapResultEndpoint();
        svc.MapDelete("/request/{id}/", Cancel)
            .WithName("cancel_request").WithTags("requests").WithSummary("Cancel a queued or running request and refund it")
            .Produces<RequestView>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409);
        // The two purchases below stand for every live deal and offer: the client document
        // shows one path per deal and offer instead (OpenApi/CatalogPathsTransformer.cs).
        svc.MapPost("/deal/{name}/", DealSubmitEndpoint.Handle)
            .WithName("buy_deal").WithTags("deal").WithSummary("Buy a deal").Purchase();
        svc.MapPost("/{service}/{action}/", SubmitEndpoint.Handle)
            .WithName("submit_offer").WithSummary("Submit an offer's inputs").Purchase();
        return app;
    }

    /// <summary>The answers of a purchase, an offer's or a deal's.</summary>
    private static RouteHandlerBuilder Purchase(this RouteHandlerBuilder endpoint) => endpoint
        .Produces<SubmitEndpoint.Accepted>(StatusCodes.Status202Accepted)
        .Produces<RequestView>(StatusCodes.Status200OK)
        .ProducesProblem(400).ProducesProblem(402).ProducesProblem(404).ProducesProblem(413).ProducesProblem(415).ProducesProblem(429);

    private static async Task<IResult> Get(string id, HttpContext http, Store store, ResourceNeeds needs, IResourceGate gate, IJobQueue queue, ExecutorCoverage coverage)
    {
        if (!RequestId().IsMatch(id))
        {
            return InvalidId();
        }
        RequestRecord? request;
        JsonObject json;
        var queuedSteps = new List<Deals.DealView.QueuedStep>();
        using (var connection = store.Open())
        {
            request = LoadOwn(connection, id, http.User().Id);
            if (request is null)
            {
                return Problems.RequestNotFound();
            }
            json = request.Kind == "deal" ? Deals.DealView.ToJson(connection, request, queuedSteps) : request.ToJson();
        }
        if (request.Status == RequestStatus.Queued)
        {
            await AddWaiting(json, gate, queue, needs.For(request.Handler, request.Endpoint), new JobMessage(id, request.Run, request.Handler, request.UserId, request.Priority));
        }
        if (request.Status == RequestStatus.Queued && coverage.Serves(request.Handler) == false)
        {
            // No live executor serves its handler: what it waits for first (a resource lane comes after).
            json["waiting_for"] = "executor";
        }
        // A deal's queued steps, each where it stands in its resource's lane or in the queue.
        foreach (var step in queuedSteps)
        {
            await AddWaiting(step.Json, gate, queue, needs.For(step.Handler), step.Job);
        }
        return TypedResults.Ok(json);
    }

    /// <summary>
    /// The caller's request, or null. Another user's request answers exactly like a missing one:
    /// ids reveal nothing. A deal's steps are shown in their deal, not on their own.
    /// </summary>
    internal static RequestRecord? LoadOwn(DbConnection connection, string id, string userId) =>
        RequestRecord.Load(connection, id) is { } request && request.UserId == userId && !request.IsStep ? request : null;

    /// <summary>
    /// A queued job shows where it stands. Parked for its resource: <c>waiting_for</c> (the
    /// resource), <c>queue_position</c> (1 is next, in the lane's fair order) and <c>eta_s</c>.
    /// Otherwise, when the queue can tell (<see cref="IJobQueue.PositionAsync"/>): its
    /// <c>queue_position</c> there (1 is delivered next), without an estimate (the queue drains
    /// at the executors' pace, which nothing here measures).
    /// </summary>
    private static async Task AddWaiting(JsonObject json, IResourceGate gate, IJobQueue queue, ResourceNeed? need, JobMessage job)
    {
        try
        {
            if (need is not null && await gate.PositionAsync(need, job) is { } lane)
            {
                json["waiting_for"] = need.Name;
                json["queue_position"] = lane.Position;
                json["eta_s"] = Math.Round(lane.Eta.TotalSeconds, 1);
                return;
            }
            if (await queue.PositionAsync(job) is { } ahead)
            {
                json["queue_position"] = ahead + 1;
            }
        }
        catch (Exception ex) when (GateHealth.IsUnreachableError(ex))
        {
            // The gate (or the queue's Redis) is unreachable: the request object is still right without the estimate.
        }
    }

    private static async Task<IResult> Cancel(string id, HttpContext http, RequestLifecycle lifecycle)
    {
        if (!RequestId().IsMatch(id))
        {
            return InvalidId();
        }
        var (outcome, request) = await CancelAndStop(lifecycle, id, http.User().Id, "the client");
        switch (outcome)
        {
            case CancelOutcome.NotFound:
                return Problems.RequestNotFound();
            case CancelOutcome.AlreadyFinished:
                return RequestFinished(request!);
            default:
                if (request!.Kind == "deal")
                {
                    using var connection = lifecycle.Store.Open();
                    return TypedResults.Ok(Deals.DealView.ToJson(connection, request));
                }
                return TypedResults.Ok(request.ToJson());
        }
    }

    /// <summary>
    /// A cancel, for the client's DELETE and an admin's (<see cref="RequestAdmin.Cancel"/>): the
    /// request of this user is cancelled and refunded in one unit, then the jobs it had running
    /// in this process are stopped at once by the executor's observer of cancelled rows
    /// (elsewhere they stop at their next heartbeat).
    /// </summary>
    internal static Task<(CancelOutcome Outcome, RequestRecord? Request)> CancelAndStop(
        RequestLifecycle lifecycle, string id, string userId, string by) =>
        lifecycle.CancelAsync(id, userId, Clock.NowMs(), by);

    internal static IResult RequestFinished(RequestRecord request) =>
        Problems.Of(409, "request_finished", "The request has finished", $"It is {request.Status}; only queued or running requests can be cancelled.");

    internal static IResult InvalidId() =>
        Problems.Of(400, "invalid_request_id", "Malformed request id", "A request id is 32 lowercase hexadecimal characters.");
}
