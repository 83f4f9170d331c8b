using System.Text.RegularExpressions;
using Switchboard.Credits;
using Switchboard.Errors;
using Switchboard.Execution;
using Switchboard.Storage;
using Switchboard.Users;

namespace Switchboard.Requests;

/// <summary>The client API under <c>/svc</c> that needs an API key: submit, read, cancel, who am I.</summary>
public static partial class RequestEndpoints
{
    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex RequestId();

    public static IEndpointRouteBuilder MapRequestEndpoints(this IEndpointRouteBuilder app)
    {
        var svc = app.MapGroup("/svc").WithStoreErrors().RequireApiKey();
        svc.MapAccountEndpoints();
        svc.MapGet("/request/{id}/", Get);
        svc.MapDelete("/request/{id}/", Cancel);
        svc.MapPost("/{service}/{action}/", SubmitEndpoint.Handle);
        return app;
    }

    private static IResult Get(string id, HttpContext http, Store store)
    {
        if (!RequestId().IsMatch(id))
        {
            return InvalidId();
        }
        using var connection = store.Open();
        var request = RequestRecord.Load(connection, id);
        // Another user's request answers exactly like a missing one: ids reveal nothing.
        return request is null || request.UserId != http.User().Id ? Problems.RequestNotFound() : TypedResults.Ok(request.ToJson());
    }

    private static async Task<IResult> Cancel(string id, HttpContext http, Store store, InFlightJobs inFlight)
    {
        if (!RequestId().IsMatch(id))
        {
            return InvalidId();
        }
        var userId = http.User().Id;
        var (outcome, request) = await store.WriteAsync(c => RequestStore.Cancel(c, id, userId, Clock.NowMs()));
        switch (outcome)
        {
            case RequestStore.CancelOutcome.NotFound:
                return Problems.RequestNotFound();
            case RequestStore.CancelOutcome.AlreadyFinished:
                return Problems.Of(409, "request_finished", "The request has finished", $"It is {request!.Status}; only queued or running requests can be cancelled.");
            default:
                inFlight.Cancel(id);
                return TypedResults.Ok(request!.ToJson());
        }
    }

    private static IResult InvalidId() =>
        Problems.Of(400, "invalid_request_id", "Malformed request id", "A request id is 32 lowercase hexadecimal characters.");
}
