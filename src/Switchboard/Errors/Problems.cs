using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Switchboard.Errors;

/// <summary>
/// Every client error is application/problem+json with a stable <c>code</c> extension that
/// clients can branch on; titles are for people and may change. The <c>type</c> points to the
/// code's entry on the server's own page of codes (<see cref="ProblemCodes"/>).
/// </summary>
public static class Problems
{
    public static ProblemHttpResult Of(int status, string code, string title, string? detail = null, IDictionary<string, object?>? extra = null)
    {
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail, Type = ProblemCodes.TypeOf(code) };
        problem.Extensions["code"] = code;
        if (extra is not null)
        {
            foreach (var (key, value) in extra)
            {
                problem.Extensions[key] = value;
            }
        }
        return TypedResults.Problem(problem);
    }

    public static ProblemHttpResult MissingKey() =>
        Of(StatusCodes.Status401Unauthorized, "missing_api_key", "An API key is required", "Send it as 'Authorization: Bearer <key>'.");

    public static ProblemHttpResult InvalidKey() =>
        Of(StatusCodes.Status401Unauthorized, "invalid_api_key", "The API key is not valid", "The key is unknown or was revoked.");

    public static ProblemHttpResult StoreUnavailable() =>
        Of(StatusCodes.Status503ServiceUnavailable, "store_unavailable", "The store is unavailable", "Nothing was stored or charged; try again.");

    public static ProblemHttpResult RequestNotFound() =>
        Of(StatusCodes.Status404NotFound, "request_not_found", "No such request");

    public static ProblemHttpResult UnknownDeal(string name) =>
        Of(StatusCodes.Status404NotFound, "unknown_deal", "No such deal", $"There is no deal '{name}'.");
}
