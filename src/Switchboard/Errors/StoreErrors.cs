using System.Data.Common;

namespace Switchboard.Errors;

public static class StoreErrors
{
    /// <summary>
    /// A store that fails (disk full, locked past the timeout, file gone, PostgreSQL unreachable) answers 503
    /// <c>store_unavailable</c>: the unit of work was rolled back whole, so nothing was stored
    /// or charged, and the client may retry.
    /// </summary>
    public static RouteGroupBuilder WithStoreErrors(this RouteGroupBuilder group) =>
        group.AddEndpointFilter(async (context, next) =>
        {
            try
            {
                return await next(context);
            }
            catch (DbException ex)
            {
                context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StoreErrors))
                    .LogError(ex, "Store failed during {Method} {Path}", context.HttpContext.Request.Method, context.HttpContext.Request.Path);
                return Problems.StoreUnavailable();
            }
        });
}
