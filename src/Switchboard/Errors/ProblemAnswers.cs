using Microsoft.AspNetCore.Diagnostics;

namespace Switchboard.Errors;

/// <summary>
/// Every error the HTTP roles answer is <c>application/problem+json</c> with a stable
/// <c>code</c>, also the framework's own: an exception (500, or a malformed request's status),
/// a status without a body (404, 405), a problem the framework writes (413).
/// </summary>
public static class ProblemAnswers
{
    public static IServiceCollection AddProblemAnswers(this IServiceCollection services) =>
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
            c.ProblemDetails.Extensions.TryAdd("code", c.ProblemDetails.Status switch
            {
                500 => "internal_error",
                413 => "body_too_large",
                int status => "http_" + status,
                null => "internal_error",
            }));

    public static WebApplication UseProblemsForExceptions(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions { StatusCodeSelector = StatusFor });
        return app;
    }

    public static WebApplication UseProblemsForStatusCodes(this WebApplication app)
    {
        app.UseStatusCodePages(async context =>
        {
            var status = context.HttpContext.Response.StatusCode;
            var (code, title) = status switch
            {
                404 => ("not_found", "No such endpoint"),
                405 => ("method_not_allowed", "Method not allowed on this endpoint"),
                _ => ("http_" + status, "HTTP " + status),
            };
            await Problems.Of(status, code, title).ExecuteAsync(context.HttpContext);
        });
        return app;
    }

    /// <summary>Malformed HTTP (bad framing, too large) is the client's error, never a 500.</summary>
    private static int StatusFor(Exception ex) => ex switch
    {
        BadHttpRequestException bad => bad.StatusCode,
        _ => StatusCodes.Status500InternalServerError,
    };
}
