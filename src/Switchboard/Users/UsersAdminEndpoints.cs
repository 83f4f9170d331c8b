using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Switchboard.Users;

/// <summary>
/// Users and their API keys in the admin JSON API (<c>/admin/api</c>, admin keys only): list,
/// create (with its first key, shown once), read (keys by prefix only), create a key, revoke a
/// key. The rules are <see cref="UserStore"/>'s, the same the CLI and the panel run.
/// </summary>
public static class UsersAdminEndpoints
{
    /// <summary>A new user's body is a few fields; anything longer is not one.</summary>
    public const int MaxBodyBytes = 16 * 1024;

    /// <summary>The key cache every HTTP call's authentication reads (emptied by <c>Hosting/StoreWatcher</c> when keys change).</summary>
    public static IServiceCollection AddUsers(this IServiceCollection services) =>
        services.AddSingleton<ApiKeyCache>().AddSingleton<KeyRateLimiter>();

    /// <summary>The users, keys and security endpoints of the admin API.</summary>
    public static RouteGroupBuilder MapUsersAdmin(this RouteGroupBuilder admin)
    {
        admin.MapGet("/users", List).Describe("users", "list_users", "The users").AnswersJson(200);
        admin.MapPost("/users", Create).Describe("users", "create_user", "Create a user (and its first API key)").AnswersJson(201, 400, 409);
        admin.MapGet("/users/{name}", Get).Describe("users", "get_user", "A user").AnswersJson(200, 404);
        admin.MapPost("/users/by-id/{id}/rename", Rename).Describe("users", "rename_user", "Rename a user").AnswersJson(200, 400, 404, 409);
        admin.MapPost("/users/{name}/keys", CreateKey)
            .Describe("users", "create_key", "Issue a new API key for a user (shown once), with optional name and limits").AnswersJson(201, 400, 404);
        admin.MapDelete("/keys/{prefix}", RevokeKey).Describe("users", "revoke_key", "Revoke an API key").AnswersJson(200, 404);
        admin.MapUserSecurityAdmin();
        admin.MapPlansAdmin();
        return admin;
    }

    private static IResult List(Store store)
    {
        using var connection = store.Open();
        return TypedResults.Ok(new JsonObject { ["users"] = new JsonArray([.. UserStore.List(connection).Select(u => (JsonNode)ToJson(u))]) });
    }

    private static async Task<IResult> Create(HttpContext http, Store store)
    {
        if (await AdminJson.ReadObject(http.Request, MaxBodyBytes) is not { } body)
        {
            return Problems.Of(400, "invalid_json", "Invalid user",
                $"The body must be a JSON object of at most {MaxBodyBytes} bytes: {{\"name\", \"admin\", \"password\", \"credits\"}}.");
        }
        var errors = new List<string>();
        var name = Text(body, "name", errors) ?? "";
        var password = Text(body, "password", errors);
        var admin = false;
        if (body["admin"] is { } a)
        {
            if (a.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
            {
                admin = a.GetValue<bool>();
            }
            else
            {
                errors.Add("admin must be true or false");
            }
        }
        long credits = 0;
        if (body["credits"] is { } c && (c is not JsonValue value || value.GetValueKind() != JsonValueKind.Number || !value.TryGetValue(out credits)))
        {
            errors.Add("credits must be a whole number");
        }
        var unknown = body.Select(p => p.Key).Where(k => k is not ("name" or "admin" or "password" or "credits")).ToList();
        errors.AddRange(unknown.Select(k => $"{k} is not a field of a user (name, admin, password, credits)"));
        if (errors.Count == 0)
        {
            errors.AddRange(UserStore.CheckNew(name, admin, password, credits));
        }
        if (errors.Count > 0)
        {
            return Problems.Of(400, "invalid_user", "Invalid user", string.Join("; ", errors), new Dictionary<string, object?> { ["errors"] = errors });
        }
        try
        {
            var actor = http.User().Name;
            var (user, key) = await store.WriteAsync(c => UserStore.CreateWithKey(c, name, admin, credits, password, actor));
            var json = new JsonObject { ["id"] = user.Id, ["name"] = user.Name, ["is_admin"] = user.IsAdmin, ["credits"] = user.Credits, ["api_key"] = key };
            NotStored(http);
            return TypedResults.Json(json, statusCode: 201);
        }
        catch (UserExistsException ex)
        {
            return Problems.Of(409, "user_exists", "The user exists already", ex.Message);
        }
    }

    private static IResult Get(string name, Store store)
    {
        using var connection = store.Open();
        if (UserStore.Summary(connection, name) is not { } user)
        {
            return UserNotFound(name);
        }
        var json = ToJson(user);
        json["keys"] = new JsonArray([.. UserStore.Keys(connection, user.Id).Select(k => (JsonNode)ToJson(k))]);
        return TypedResults.Ok(json);
    }

    /// <summary>
    /// A new key for a user; the body (optional) sets its name and limits
    /// (<see cref="KeySettings.Fields"/>; 400 <c>invalid_key</c> with every problem).
    /// </summary>
    private static async Task<IResult> CreateKey(string name, HttpContext http, Store store)
    {
        var settings = KeySettings.Unlimited;
        if (http.Request.ContentLength > 0 || http.Request.Headers.TransferEncoding.Count > 0)
        {
            if (await AdminJson.ReadObject(http.Request, MaxBodyBytes) is not { } body)
            {
                return Problems.Of(400, "invalid_json", "Invalid key", $"The body must be a JSON object of at most {MaxBodyBytes} bytes.");
            }
            var errors = new List<string>();
            var now = Clock.NowMs();
            settings = KeySettings.Read(body, now, errors);
            if (errors.Count == 0)
            {
                errors.AddRange(settings.Problems(now));
            }
            if (errors.Count > 0)
            {
                return InvalidKey(errors);
            }
        }
        var created = await store.WriteAsync(c => UserStore.Find(c, name) is { } user ? (user, UserStore.CreateKey(c, user.Id, settings, null)) : default);
        if (created.user is null)
        {
            return UserNotFound(name);
        }
        NotStored(http);
        var json = settings.ToJson();
        json["name"] = created.user.Name;
        json["key_name"] = settings.Name;
        json["prefix"] = UserStore.KeyName(created.Item2);
        json["api_key"] = created.Item2;
        return TypedResults.Json(json, statusCode: 201);
    }

    internal static IResult InvalidKey(List<string> errors) =>
        Problems.Of(400, "invalid_key", "Invalid key", string.Join("; ", errors), new Dictionary<string, object?> { ["errors"] = errors });

    /// <summary>
    /// Renames a user addressed by its id, so that a stored name no route can carry (one with
    /// '/', from before the name rules) can still be fixed. The body is <c>{"name": NEW}</c>.
    /// </summary>
    private static async Task<IResult> Rename(string id, HttpContext http, Store store)
    {
        if (await AdminJson.ReadObject(http.Request, MaxBodyBytes) is not { } body)
        {
            return Problems.Of(400, "invalid_json", "Invalid rename", $"The body must be a JSON object of at most {MaxBodyBytes} bytes: {{\"name\": NEW}}.");
        }
        var errors = new List<string>();
        var name = Text(body, "name", errors);
        errors.AddRange(body.Select(p => p.Key).Where(k => k != "name").Select(k => $"{k} is not a field of a rename (name)"));
        if (errors.Count == 0 && UserNames.Problem(name) is { } problem)
        {
            errors.Add(problem);
        }
        if (errors.Count > 0)
        {
            return Problems.Of(400, "invalid_name", "Invalid name", string.Join("; ", errors), new Dictionary<string, object?> { ["errors"] = errors });
        }
        try
        {
            // By id only (Find also matches names): {id} must not pick a user by its name.
            var before = await store.WriteAsync(c => UserStore.Find(c, id) is { } u && u.Id == id ? UserStore.Rename(c, id, name!) : null);
            return before is null
                ? Problems.Of(404, "user_not_found", "No such user", "No user has this id.")
                : TypedResults.Ok(new JsonObject { ["id"] = before.Id, ["name"] = name, ["previous"] = before.Name });
        }
        catch (UserExistsException ex)
        {
            return Problems.Of(409, "user_exists", "The user exists already", ex.Message);
        }
    }

    /// <summary>An answer holding a new API key: no cache, proxy or browser history may keep it.</summary>
    private static void NotStored(HttpContext http) => http.Response.Headers.CacheControl = "no-store";

    private static async Task<IResult> RevokeKey(string prefix, Store store) =>
        await store.WriteAsync(c => UserStore.RevokeKey(c, prefix)) > 0
            ? TypedResults.Ok(new JsonObject { ["prefix"] = UserStore.KeyName(prefix), ["revoked"] = true })
            : Problems.Of(404, "key_not_found", "No such key", $"No active key has the prefix '{UserStore.KeyName(prefix)}'.");

    public static JsonObject ToJson(UserSummary u) => new()
    {
        ["id"] = u.Id,
        ["name"] = u.Name,
        ["is_admin"] = u.IsAdmin,
        ["credits"] = u.Credits,
        ["active_keys"] = u.ActiveKeys,
        ["created_at"] = Clock.Iso(u.CreatedAt),
        ["disabled_at"] = Clock.Iso(u.DisabledAt),
    };

    /// <summary>A key as listings show it: its prefix (never the key), name, own limits and parent.</summary>
    public static JsonObject ToJson(KeyInfo k)
    {
        var json = new JsonObject
        {
            ["prefix"] = k.Prefix,
            ["created_at"] = Clock.Iso(k.CreatedAt),
            ["revoked_at"] = Clock.Iso(k.RevokedAt),
            ["active"] = k.Active && !k.Expired(Clock.NowMs()),
        };
        foreach (var (field, value) in k.Settings.ToJson())
        {
            json[field] = value?.DeepClone();
        }
        json["parent"] = k.Parent;
        return json;
    }

    private static ProblemHttpResult UserNotFound(string name) => Problems.Of(404, "user_not_found", "No such user", $"No user is named '{name}'.");

    /// <summary>A string field (absent or null is null); anything else is an error for that field.</summary>
    private static string? Text(JsonObject body, string field, List<string> errors)
    {
        if (body[field] is not { } node)
        {
            return null;
        }
        if (node.GetValueKind() != JsonValueKind.String)
        {
            errors.Add($"{field} must be a string");
            return null;
        }
        try
        {
            return node.GetValue<string>();
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate ("\ud800") parses as JSON but is not text.
            errors.Add($"{field} must be valid Unicode text");
            return null;
        }
    }
}
