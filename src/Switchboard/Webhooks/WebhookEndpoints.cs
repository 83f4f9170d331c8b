using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Microsoft.Extensions.Options;
using Switchboard.Outbound;
using Switchboard.Users;

namespace Switchboard.Webhooks;

/// <summary>
/// A user's webhook endpoints: <c>/svc/me/webhooks…</c> for the caller, and the same under
/// <c>/admin/api/users/{user}/webhooks…</c> for any user (recorded in the audit trail by the
/// admin group's filter; bodies hold no secret, and answers are not recorded). A secret is
/// answered once, when made (create, rotate); never by a read.
/// </summary>
public static class WebhookEndpoints
{
    private const int MaxBodyBytes = 16 * 1024;
    private const string Shape = """{"url": "https://…", "events": ["request.succeeded", …], "enabled": true}""";
    private static readonly object OwnerKey = new();

    /// <summary>On the <c>/svc</c> group: the caller's endpoints.</summary>
    public static RouteGroupBuilder MapWebhookEndpoints(this RouteGroupBuilder svc)
    {
        Map(svc.MapGroup("/me/webhooks"), "", "webhooks");
        return svc;
    }

    /// <summary>On the admin group: any user's endpoints, by the user's name or id.</summary>
    public static RouteGroupBuilder MapWebhooksAdmin(this RouteGroupBuilder admin)
    {
        var group = admin.MapGroup("/users/{user}/webhooks");
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            using (var connection = http.RequestServices.GetRequiredService<Store>().Open())
            {
                if (UserStore.Find(connection, http.GetRouteValue("user")?.ToString() ?? "") is not { } user)
                {
                    return Problems.Of(404, "user_not_found", "No such user", "No user has this name.");
                }
                http.Items[OwnerKey] = user.Id;
            }
            return await next(context);
        });
        // The handlers take the user from the filter above, so the documents learn the route's {user} here.
        group.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            operation.Parameters.Insert(0, new OpenApiParameter
            {
                Name = "user", In = ParameterLocation.Path, Required = true, Description = "The user's name or id.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            });
            return Task.CompletedTask;
        });
        Map(group, "admin_", "users");
        return admin;
    }

    private static void Map(RouteGroupBuilder g, string prefix, string tag)
    {
        g.MapPost("", Create).Describe(tag, prefix + "create_webhook", "Register a webhook endpoint (its secret is shown in this answer only)")
            .AnswersJson(201, 400, 409, 413, 415);
        g.MapGet("", List).Describe(tag, prefix + "list_webhooks", "Webhook endpoints (without secrets)").AnswersJson(200);
        g.MapPost("/secret", RotateUserSecret).Describe(tag, prefix + "rotate_webhook_user_secret",
            "A new secret for one-off Switchboard-Webhook URLs (shown in this answer only); body {\"keep_previous\": true}").AnswersJson(200, 400, 413, 415);
        g.MapGet("/{id}", Get).Describe(tag, prefix + "get_webhook", "A webhook endpoint").AnswersJson(200, 404);
        g.MapPatch("/{id}", Update).Describe(tag, prefix + "update_webhook", "Change a webhook endpoint's url, events or enabled")
            .AnswersJson(200, 400, 404, 413, 415);
        g.MapDelete("/{id}", Delete).Describe(tag, prefix + "delete_webhook", "Delete a webhook endpoint").AnswersNoContent(404);
        g.MapPost("/{id}/rotate", Rotate).Describe(tag, prefix + "rotate_webhook_secret",
            "A new secret for the endpoint (shown in this answer only); the old one also signs for the grace period unless {\"keep_previous\": false}").AnswersJson(200, 400, 404);
        g.MapGet("/{id}/deliveries", Deliveries).Describe(tag, prefix + "list_webhook_deliveries", "The endpoint's events and their attempts, newest first")
            .AnswersJson(200, 400, 404);
        g.MapPost("/{id}/deliveries/{which}/resend", Resend).Describe(tag, prefix + "resend_webhook_event",
            "Send an event again (by its event id or one of its deliveries' ids)").AnswersJson(202, 404);
    }

    /// <summary>Whose endpoints: the admin route's user, else the caller.</summary>
    private static string Owner(HttpContext http) => http.Items[OwnerKey] as string ?? http.User().Id;

    private static async Task<IResult> Create(HttpContext http, Store store, WebhookSecrets secrets, IOptions<WebhookOptions> options, IOptions<OutboundOptions> outbound)
    {
        var body = await AdminJson.Read(http.Request, MaxBodyBytes, Shape, "url", "events");
        if (body.Problem is not null)
        {
            return body.Problem;
        }
        var (url, urlProblem) = WebhookUrls.Check(Text(body.Object!["url"]), options.Value, outbound.Value);
        if (urlProblem is not null)
        {
            return urlProblem;
        }
        var (mask, eventsProblem) = Events(body.Object!["events"]);
        if (eventsProblem is not null)
        {
            return eventsProblem;
        }
        var secret = WebhookSecrets.Generate();
        var owner = Owner(http);
        var created = await store.WriteAsync(c => WebhookStore.Create(c, owner, url!, mask!.Value, secrets.Seal(secret), Clock.NowMs(), options.Value.MaxEndpointsPerUser));
        if (created is null)
        {
            return Problems.Of(409, "too_many_webhooks", "Too many webhook endpoints", $"At most {options.Value.MaxEndpointsPerUser} per user.");
        }
        return TypedResults.Created($"{http.Request.Path.ToString().TrimEnd('/')}/{created.Id}", created.ToJson(secret));
    }

    private static IResult List(HttpContext http, Store store)
    {
        using var connection = store.Open();
        return TypedResults.Ok(new JsonObject { ["webhooks"] = new JsonArray([.. WebhookStore.List(connection, Owner(http)).Select(e => (JsonNode)e.ToJson())]) });
    }

    private static IResult Get(string id, HttpContext http, Store store)
    {
        using var connection = store.Open();
        return WebhookStore.Find(connection, Owner(http), id) is { } endpoint ? TypedResults.Ok(endpoint.ToJson()) : NotFound();
    }

    private static async Task<IResult> Update(string id, HttpContext http, Store store, IOptions<WebhookOptions> options, IOptions<OutboundOptions> outbound)
    {
        var body = await AdminJson.Read(http.Request, MaxBodyBytes, Shape, "url", "events", "enabled");
        if (body.Problem is not null)
        {
            return body.Problem;
        }
        var fields = body.Object!;
        string? url = null;
        if (fields.ContainsKey("url"))
        {
            (url, var problem) = WebhookUrls.Check(Text(fields["url"]), options.Value, outbound.Value);
            if (problem is not null)
            {
                return problem;
            }
        }
        long? mask = null;
        if (fields.ContainsKey("events"))
        {
            (mask, var problem) = Events(fields["events"]);
            if (problem is not null)
            {
                return problem;
            }
        }
        bool? enabled = null;
        if (fields.ContainsKey("enabled"))
        {
            if (fields["enabled"] is not JsonValue v || !v.TryGetValue<bool>(out var e))
            {
                return Invalid("`enabled` is true or false.");
            }
            enabled = e;
        }
        var owner = Owner(http);
        var updated = await store.WriteAsync(c => WebhookStore.Update(c, owner, id, url, mask, enabled, Clock.NowMs()));
        return updated is null ? NotFound() : TypedResults.Ok(updated.ToJson());
    }

    private static async Task<IResult> Delete(string id, HttpContext http, Store store)
    {
        var owner = Owner(http);
        return await store.WriteAsync(c => WebhookStore.Delete(c, owner, id, Clock.NowMs())) ? TypedResults.NoContent() : NotFound();
    }

    private static async Task<IResult> Rotate(string id, HttpContext http, Store store, WebhookSecrets secrets, IOptions<WebhookOptions> options)
    {
        var (previousUntil, problem) = await PreviousUntil(http, options.Value, required: false);
        if (problem is not null)
        {
            return problem;
        }
        var owner = Owner(http);
        var secret = WebhookSecrets.Generate();
        var rotated = await store.WriteAsync(c =>
            WebhookStore.Rotate(c, owner, id, secrets.Seal(secret), previousUntil, Clock.NowMs()) ? WebhookStore.Find(c, owner, id) : null);
        return rotated is null ? NotFound() : TypedResults.Ok(rotated.ToJson(secret));
    }

    /// <summary>The user's secret for one-off URLs: made, or rotated. A JSON body is required (<c>{}</c> will do), so a stray POST rotates nothing.</summary>
    private static async Task<IResult> RotateUserSecret(HttpContext http, Store store, WebhookSecrets secrets, IOptions<WebhookOptions> options)
    {
        var (previousUntil, problem) = await PreviousUntil(http, options.Value, required: true);
        if (problem is not null)
        {
            return problem;
        }
        var owner = Owner(http);
        var secret = WebhookSecrets.Generate();
        await store.WriteAsync(c => WebhookStore.RotateUserSecret(c, owner, secrets.Seal(secret), previousUntil, Clock.NowMs()));
        return TypedResults.Ok(new JsonObject { ["secret"] = secret, ["previous_valid_until"] = Clock.Iso(previousUntil) });
    }

    /// <summary>
    /// Until when a rotated secret still signs: the grace period, or now with
    /// <c>{"keep_previous": false}</c> (a leaked secret stops signing at once).
    /// </summary>
    private static async Task<(long Until, IResult? Problem)> PreviousUntil(HttpContext http, WebhookOptions options, bool required)
    {
        var now = Clock.NowMs();
        var keep = true;
        if (required || http.Request.ContentLength > 0)
        {
            var body = await AdminJson.Read(http.Request, MaxBodyBytes, """{"keep_previous": true}""", "keep_previous");
            if (body.Problem is not null)
            {
                return (0, body.Problem);
            }
            if (body.Object!.ContainsKey("keep_previous"))
            {
                if (body.Object["keep_previous"] is not JsonValue v || !v.TryGetValue(out keep))
                {
                    return (0, Invalid("`keep_previous` is true or false."));
                }
            }
        }
        return (keep ? now + (long)options.RotationGrace.TotalMilliseconds : now, null);
    }

    private static IResult Deliveries(string id, HttpContext http, Store store)
    {
        long? before = null;
        var limit = 50;
        if (http.Request.Query["cursor"] is { Count: > 0 } cursor)
        {
            if (!long.TryParse(cursor[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var b) || b <= 0)
            {
                return Problems.Of(400, "invalid_query", "Malformed cursor", "`cursor` is the `next_cursor` of the previous page.");
            }
            before = b;
        }
        if (http.Request.Query["limit"] is { Count: > 0 } l)
        {
            if (!int.TryParse(l[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 200)
            {
                return Problems.Of(400, "invalid_query", "Malformed limit", "`limit` is 1 to 200.");
            }
        }
        using var connection = store.Open();
        if (WebhookStore.Find(connection, Owner(http), id) is null)
        {
            return NotFound();
        }
        var (items, next) = WebhookStore.Deliveries(connection, id, before, limit);
        return TypedResults.Ok(new JsonObject { ["events"] = items, ["next_cursor"] = next?.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    private static async Task<IResult> Resend(string id, string which, HttpContext http, Store store, WebhookSignal signal)
    {
        var owner = Owner(http);
        var eventId = await store.WriteAsync(c => WebhookStore.Find(c, owner, id) is null ? null : WebhookStore.Resend(c, id, which, Clock.NowMs()));
        if (eventId is null)
        {
            return Problems.Of(404, "webhook_event_not_found", "No such event", "No event or delivery of this endpoint has this id.");
        }
        signal.Wake();
        return TypedResults.Accepted((string?)null, new JsonObject { ["event_id"] = eventId, ["status"] = "pending" });
    }

    /// <summary>The events' bit mask, or the problem: a non-empty list of known event names.</summary>
    private static (long? Mask, IResult? Problem) Events(JsonNode? node)
    {
        if (node is not JsonArray { Count: > 0 } list || list.Any(e => Text(e) is null))
        {
            return (null, Invalid("`events` is a non-empty list of event names."));
        }
        var names = list.Select(e => Text(e)!).ToList();
        if (names.FirstOrDefault(n => WebhookEvents.Bit(n) == 0) is { } unknown)
        {
            return (null, Problems.Of(400, "unknown_webhook_event", "Unknown event",
                $"'{unknown}' is not an event; events are {string.Join(", ", WebhookEvents.All)}."));
        }
        return (WebhookEvents.Mask(names), null);
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static IResult Invalid(string detail) => Problems.Of(400, "invalid_webhook", "The webhook is not valid", detail);

    private static IResult NotFound() => Problems.Of(404, "webhook_not_found", "No such webhook endpoint", "No webhook endpoint of yours has this id.");
}
