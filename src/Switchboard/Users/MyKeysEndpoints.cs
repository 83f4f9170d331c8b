namespace Switchboard.Users;

/// <summary>
/// <c>/svc/me/keys</c>: a user's own keys, with the Bearer key of the client API. GET lists them
/// (prefixes and limits, never a key); POST makes a child of the calling key, shown once, never
/// broader: a limit left out is the caller's, one given must be within the caller's
/// (<see cref="KeySettings.Exceeds"/>), and its purchases count against the caller's limits too
/// (<see cref="KeyCharges"/>, <see cref="KeyGate"/>). DELETE revokes the calling key itself or a
/// key made under it (with the keys under that one); any other key of the user, made by an admin
/// or by another key, is out of its reach: 404, as for a key that does not exist.
/// </summary>
public static class MyKeysEndpoints
{
    private const int MaxBodyBytes = 16 * 1024;

    /// <summary>How many keys a user may hold through <c>/svc/me/keys</c> (active children), so a leaked key cannot fill the table.</summary>
    public const int MaxChildKeys = 100;

    public static RouteGroupBuilder MapMyKeys(this RouteGroupBuilder svc)
    {
        svc.MapGet("/me/keys/", List)
            .WithName("list_my_keys").WithTags("account").WithSummary("Your API keys: prefixes, names and limits (never the keys)");
        svc.MapPost("/me/keys/", Create)
            .WithName("create_my_key").WithTags("account")
            .WithSummary("Make a child of the calling key (shown once): {name, scopes, rpm, max_concurrent, budget, budget_period, expires}; never broader than the caller")
            .ProducesProblem(400).ProducesProblem(403).ProducesProblem(409).ProducesProblem(413).ProducesProblem(415);
        svc.MapDelete("/me/keys/{prefix}", Revoke)
            .WithName("revoke_my_key").WithTags("account").WithSummary("Revoke the calling key or one made under it (and the keys under that one)")
            .ProducesProblem(404);
        return svc;
    }

    private static IResult List(HttpContext http, Store store)
    {
        var caller = http.User();
        using var connection = store.Open();
        var keys = UserStore.Keys(connection, caller.Id).Where(k => k.Active).Select(k =>
        {
            var json = UsersAdminEndpoints.ToJson(k);
            json["caller"] = k.Prefix == caller.Key;
            return (JsonNode)json;
        });
        return TypedResults.Ok(new JsonObject { ["keys"] = new JsonArray([.. keys]) });
    }

    private static async Task<IResult> Create(HttpContext http, Store store)
    {
        var caller = http.User();
        if (!JsonBodies.IsJson(http.Request.ContentType))
        {
            return Problems.Of(415, "unsupported_media_type", "The body must be JSON", "Send 'Content-Type: application/json'.");
        }
        var (bytes, tooLarge) = await JsonBodies.ReadBody(http.Request, MaxBodyBytes, http.RequestAborted);
        if (tooLarge)
        {
            return Problems.Of(413, "body_too_large", "The body is too large", $"At most {MaxBodyBytes} bytes.");
        }
        // Every name and string decoded now (a lone surrogate, a duplicate name: 400, not a 500 later).
        if (AdminJson.Parse(bytes) is not { } body)
        {
            return Problems.Of(400, "invalid_json", "Invalid key", "The body must be a JSON object: {name, scopes, rpm, max_concurrent, budget, budget_period, expires}.");
        }
        var now = Clock.NowMs();
        var errors = new List<string>();
        var asked = KeySettings.Read(body, now, errors);
        if (errors.Count == 0)
        {
            errors.AddRange(asked.Problems(now));
        }
        if (errors.Count > 0)
        {
            return UsersAdminEndpoints.InvalidKey(errors);
        }
        // What is left out is the caller's (its limits as resolved, its plan's defaults included).
        var limits = caller.Limits;
        var settings = asked with
        {
            Scopes = asked.Scopes ?? limits.Scopes,
            Rpm = asked.Rpm ?? limits.Rpm,
            MaxConcurrent = asked.MaxConcurrent ?? limits.MaxConcurrent,
            Budget = asked.Budget ?? limits.Budget,
            BudgetPeriod = asked.BudgetPeriod ?? (limits.Budget is null ? null : limits.BudgetPeriod ?? KeyCharges.Total),
            ExpiresAt = asked.ExpiresAt ?? limits.ExpiresAtMs,
        };
        if (settings.Exceeds(limits) is { Count: > 0 } broader)
        {
            return Problems.Of(403, "key_broader_than_caller", "The new key would be broader than the calling key", string.Join("; ", broader),
                new Dictionary<string, object?> { ["errors"] = broader });
        }
        var key = await store.WriteAsync(c =>
            c.Scalar<long>("SELECT COUNT(*) FROM api_keys WHERE user_id = @u AND parent IS NOT NULL AND revoked_at IS NULL", ("@u", caller.Id)) >= MaxChildKeys
                ? null
                : UserStore.CreateKey(c, caller.Id, settings, caller.Key));
        if (key is null)
        {
            return Problems.Of(409, "too_many_keys", "Too many keys",
                $"A user may hold {MaxChildKeys} active keys made through /svc/me/keys; revoke one first.");
        }
        http.Response.Headers.CacheControl = "no-store";
        var json = settings.ToJson();
        json["prefix"] = UserStore.KeyName(key);
        json["parent"] = caller.Key;
        json["api_key"] = key;
        return TypedResults.Json(json, statusCode: 201);
    }

    private static async Task<IResult> Revoke(string prefix, HttpContext http, Store store)
    {
        var caller = http.User();
        var name = UserStore.KeyName(prefix);
        var revoked = await store.WriteAsync(c => Reachable(c, caller, name) ? UserStore.RevokeKey(c, name) : 0);
        return revoked > 0
            ? TypedResults.Ok(new JsonObject { ["prefix"] = name, ["revoked"] = revoked })
            : Problems.Of(404, "key_not_found", "No such key", $"No active key '{name}' is the calling key or one made under it.");
    }

    /// <summary>The calling key itself, or an active key whose chain of parents reaches it.</summary>
    private static bool Reachable(System.Data.Common.DbConnection connection, AuthUser caller, string prefix) =>
        caller.Key is { } own && connection.Scalar<long>(
            """
            WITH RECURSIVE chain(prefix, depth) AS (
                SELECT prefix, 0 FROM api_keys WHERE prefix = @p AND user_id = @u AND revoked_at IS NULL
                UNION ALL
                SELECT k.parent, c.depth + 1 FROM api_keys k JOIN chain c ON k.prefix = c.prefix WHERE k.parent IS NOT NULL AND c.depth < 32)
            SELECT COUNT(*) FROM chain WHERE prefix = @own
            """,
            ("@p", prefix), ("@u", caller.Id), ("@own", own)) > 0;
}
