using System.Text;
using System.Text.Json;

namespace Switchboard.Audit;

/// <summary>
/// The recording point of the admin API and the panel: one endpoint filter on each group, so
/// every action there (and every one added later) is recorded without the endpoint knowing.
/// It records each non-GET request that the endpoint accepted (a status below 400; a refused
/// request changed nothing), after the endpoint ran, with the signed-in admin, the client's
/// address, the route pattern as the action, the route values as the target and the request's
/// fields, redacted, as details. The action's own writes are committed by then: if the record
/// cannot be written the action stands and the failure is logged as an error (an endpoint
/// filter cannot share the endpoint's transaction; docs/operations.md, "Audit trail").
/// </summary>
public static class AuditFilters
{
    /// <summary>Most of a request body read again for its record (the admin API's bodies are smaller).</summary>
    private const int MaxBodyBytes = 128 * 1024;

    private static readonly object NothingDoneKey = new();

    /// <summary>
    /// Marks this request as one that changed nothing though it answers below 400 (a form posted
    /// without its confirmation, answered with the confirmation page again): it is not recorded.
    /// </summary>
    public static void NothingDone(HttpContext http) => http.Items[NothingDoneKey] = true;

    public static RouteGroupBuilder RecordAdminActions(this RouteGroupBuilder group, string channel, Func<HttpContext, string> actor)
    {
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var method = http.Request.Method;
            if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method))
            {
                return await next(context);
            }
            // The endpoint reads the body itself; buffering lets the record read it again.
            http.Request.EnableBuffering();
            var result = await next(context);
            await RecordIfAccepted(http, channel, actor(http), result is IStatusCodeHttpResult { StatusCode: { } code } ? code : StatusCodes.Status200OK);
            return result;
        });
        return group;
    }

    /// <summary>
    /// Runs <paramref name="next"/> (the panel's pages, which are not minimal-API endpoints and so
    /// take no filter: Admin/Panel/PanelGate.cs) and records the request as the filter above does,
    /// by the status it answered.
    /// </summary>
    public static async Task RecordAfter(HttpContext http, string channel, string actor, Func<Task> next)
    {
        await next();
        await RecordIfAccepted(http, channel, actor, http.Response.StatusCode);
    }

    private static async Task RecordIfAccepted(HttpContext http, string channel, string actor, int status)
    {
        if (status >= 400 || http.Items.ContainsKey(NothingDoneKey))
        {
            return;
        }
        try
        {
            await Record(http, channel, actor, status);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The action is done and its answer stands (see above): a record that
            // cannot be made is an error for the operator, never a 500 for the admin.
            http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AuditLog))
                .LogError(ex, "Audit: the record of {Method} {Path} could not be written (the action was done)", http.Request.Method, http.Request.Path);
        }
    }

    private static async Task Record(HttpContext http, string channel, string actor, int status)
    {
        var route = http.GetRouteData().Values.Where(v => v.Value is not null).Select(v => (v.Key, (JsonNode?)v.Value!.ToString())).ToList();
        var fields = await Fields(http.Request);
        var details = new JsonObject();
        if (route.Count > 0)
        {
            details["route"] = AuditRedaction.Object(route);
        }
        if (http.Request.Query.Count > 0)
        {
            details["query"] = AuditRedaction.Object(http.Request.Query.Select(q => (q.Key, (JsonNode?)q.Value.ToString())));
        }
        if (fields is not null)
        {
            details["body"] = fields;
        }
        var target = route.Count > 0
            ? string.Join('/', route.Select(r => r.Item2!.GetValue<string>()))
            : (fields as JsonObject)?["name"] is JsonValue name && name.TryGetValue<string>(out var n) ? n : null;
        var action = $"{http.Request.Method} {(http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? http.Request.Path.ToString()}";
        var store = http.RequestServices.GetRequiredService<Store>();
        await store.WriteAsync(c => AuditLog.Record(c, actor, channel, http.Connection.RemoteIpAddress?.ToString(), action, target, status, details));
    }

    /// <summary>The request's fields, redacted: a form's (but its antiforgery token and the name of the form, <c>_handler</c>), a JSON object's; any other body by size and hash only.</summary>
    private static async Task<JsonNode?> Fields(HttpRequest request)
    {
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync();
            return AuditRedaction.Object(form.Where(f => !f.Key.StartsWith('_')).Select(f => (f.Key, (JsonNode?)f.Value.ToString())));
        }
        if (!request.Body.CanSeek || request.Body.Length == 0)
        {
            return null;
        }
        request.Body.Position = 0;
        var buffer = new byte[Math.Min(request.Body.Length, MaxBodyBytes)];
        await request.Body.ReadExactlyAsync(buffer, request.HttpContext.RequestAborted);
        try
        {
            if (request.Body.Length <= MaxBodyBytes && JsonNode.Parse(buffer) is JsonObject body)
            {
                return AuditRedaction.Redact(body);
            }
        }
        catch (JsonException)
        {
            // Not JSON: kept by size and hash below.
        }
        return new JsonObject { ["bytes"] = request.Body.Length, ["sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(buffer)) };
    }
}
