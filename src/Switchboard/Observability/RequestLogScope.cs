using System.Collections;

namespace Switchboard.Observability;

/// <summary>
/// The log scope of one API call under <c>/svc</c>: every line logged while the endpoint runs
/// carries <c>request_id</c> once it is known — from the route (<c>/svc/request/{id}/</c>) at
/// once, or set by the submit endpoints when they have computed the id. The scope is begun
/// before the id exists, so it is mutable; the formatter reads it when a line is written.
/// </summary>
public sealed class RequestLogScope : IReadOnlyList<KeyValuePair<string, object?>>
{
    public const string Key = "request_id";

    public string? RequestId { get; set; }

    public int Count => RequestId is null ? 0 : 1;

    public KeyValuePair<string, object?> this[int index] =>
        index == 0 && RequestId is not null ? new(Key, RequestId) : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        if (RequestId is { } id)
        {
            yield return new(Key, id);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => RequestId is null ? "" : $"request_id: {RequestId}";
}

public static class RequestLogging
{
    /// <summary>Category of the one Debug line per API call that concerns a request.</summary>
    public const string Category = "Switchboard.Requests.Api";

    /// <summary>Begins a <see cref="RequestLogScope"/> around every endpoint of the group (add it first, so other filters log inside it).</summary>
    public static RouteGroupBuilder WithRequestLogScope(this RouteGroupBuilder group) =>
        group.AddEndpointFilterFactory((factory, next) =>
        {
            // One logger per endpoint, made when the endpoint is built, not per call.
            var logger = factory.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
            return async context =>
            {
                var http = context.HttpContext;
                var scope = new RequestLogScope();
                if (http.GetRouteValue("id") is string id && IsRequestId(id))
                {
                    scope.RequestId = id;
                }
                http.Features.Set(scope);
                using (logger.BeginScope(scope))
                {
                    var result = await next(context);
                    if (scope.RequestId is not null && logger.IsEnabled(LogLevel.Debug))
                    {
                        logger.LogDebug("{Method} {Path} answered {Status}", http.Request.Method, http.Request.Path.Value,
                            (result as IStatusCodeHttpResult)?.StatusCode ?? http.Response.StatusCode);
                    }
                    return result;
                }
            };
        });

    /// <summary>From now on, this call's log lines carry <paramref name="requestId"/>.</summary>
    public static void SetLogRequestId(this HttpContext http, string requestId)
    {
        if (http.Features.Get<RequestLogScope>() is { } scope)
        {
            scope.RequestId = requestId;
        }
    }

    // Only well-formed ids reach the logs: a path segment is whatever the client sent.
    private static bool IsRequestId(string id) => id.Length == 32 && id.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
