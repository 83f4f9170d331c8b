using Switchboard.Errors;
using Switchboard.Storage;

namespace Switchboard.Hosting;

/// <summary><c>/healthz</c>: the process answers. <c>/readyz</c>: it can reach its store.</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "ok" }));
        app.MapGet("/readyz", (Store store) =>
        {
            try
            {
                using var connection = store.Open();
                connection.Scalar<long>("SELECT COUNT(*) FROM schema_migrations");
                return (IResult)TypedResults.Ok(new { status = "ready" });
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException)
            {
                return Problems.StoreUnavailable();
            }
        });
        return app;
    }
}
