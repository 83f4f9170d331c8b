using Switchboard.Users;

namespace Switchboard.Config;

/// <summary>
/// Configs in the admin JSON API (<c>/admin/api</c>, admin keys only): the ids, each id's
/// versions (author, time, comment) and activations (who made which version active), a version's text with its secrets masked, the diff of two
/// versions, and rollback (<see cref="ConfigAdmin"/>, the panel's code too).
/// </summary>
public static class ConfigsAdminEndpoints
{
    private const int MaxBodyBytes = 4096;

    public static RouteGroupBuilder MapConfigsAdmin(this RouteGroupBuilder admin)
    {
        admin.MapGet("/configs", (AppConfigs configs, BootstrapConfig bootstrap) =>
            TypedResults.Ok(new JsonObject { ["configs"] = new JsonArray([.. ConfigAdmin.Summaries(configs, bootstrap).Select(s => (JsonNode)s.ToJson())]) }))
            .WithName("list_configs").WithTags("configs").WithSummary("The configs and their current versions")
            .Produces<JsonObject>(200);
        admin.MapGet("/configs/{id}", (string id, AppConfigs configs) =>
        {
            var versions = configs.Versions.List(id);
            return versions.Count == 0 && !configs.ReadIds.Contains(id)
                ? NoConfig(id)
                : TypedResults.Ok(new JsonObject
                {
                    ["id"] = id,
                    ["versions"] = new JsonArray([.. versions.Select(v => (JsonNode)ConfigAdmin.ToJson(v))]),
                    ["history"] = new JsonArray([.. configs.Versions.History(id, ConfigAdmin.HistoryLimit).Select(a => (JsonNode)ConfigAdmin.ToJson(a))]),
                });
        })
            .WithName("get_config").WithTags("configs").WithSummary("A config's versions")
            .Produces<JsonObject>(200).ProducesProblem(404);
        admin.MapGet("/configs/{id}/versions/{version}", (string id, string version, AppConfigs configs) =>
        {
            if (configs.Versions.Get(id, version) is not { } v)
            {
                return NoVersion(id, version);
            }
            var json = ConfigAdmin.ToJson(v);
            json["id"] = id;
            json["content"] = ConfigAdmin.Masked(v);
            return TypedResults.Ok(json);
        })
            .WithName("get_config_version").WithTags("configs").WithSummary("One version of a config")
            .Produces<JsonObject>(200).ProducesProblem(404);
        admin.MapGet("/configs/{id}/diff", (string id, string? from, string? to, AppConfigs configs, BootstrapConfig bootstrap) =>
        {
            if (string.IsNullOrEmpty(from) || string.IsNullOrEmpty(to))
            {
                return Problems.Of(400, "invalid_diff", "Two versions are needed", "Give ?from=VERSION&to=VERSION.");
            }
            if (configs.Versions.Get(id, from) is not { } a)
            {
                return NoVersion(id, from);
            }
            if (configs.Versions.Get(id, to) is not { } b)
            {
                return NoVersion(id, to);
            }
            return TypedResults.Ok(new JsonObject
            {
                ["id"] = id,
                ["from"] = from,
                ["to"] = to,
                ["changes"] = new JsonArray([.. ConfigDiff.Compute(a, b, bootstrap.Keys()).Select(l => (JsonNode)l.ToJson())]),
            });
        })
            .WithName("diff_config").WithTags("configs").WithSummary("The difference between two versions of a config")
            .Produces<JsonObject>(200).ProducesProblem(400).ProducesProblem(404);
        admin.MapPost("/configs/{id}/rollback", async (string id, HttpContext http, AppConfigs configs, BootstrapConfig bootstrap, ILoggerFactory logs) =>
        {
            var to = await ReadTo(http.Request);
            if (to is null)
            {
                return Problems.Of(400, "invalid_json", "Invalid rollback", "The body must be a JSON object {\"to\": \"VERSION\"}.");
            }
            return ConfigAdmin.Rollback(configs, bootstrap, id, to, http.User().Name, logs.CreateLogger(typeof(ConfigsAdminEndpoints))) switch
            {
                ConfigAdmin.RollbackOutcome.Done => TypedResults.Ok(new JsonObject { ["id"] = id, ["version"] = to, ["active"] = true }),
                ConfigAdmin.RollbackOutcome.OperatorOnly => Problems.Of(403, "endpoint_profiles_operator_only", "Endpoint profiles are the operator's", ConfigAdmin.OperatorOnlyReason),
                _ => NoVersion(id, to),
            };
        })
            .WithName("rollback_config").WithTags("configs").WithSummary("Make an earlier version of a config current")
            .Produces<JsonObject>(200).ProducesProblem(400).ProducesProblem(403).ProducesProblem(404);
        return admin;
    }

    /// <summary>The "to" of a rollback body, or null when the body is not {"to": "…"}.</summary>
    private static async Task<string?> ReadTo(HttpRequest request) =>
        await AdminJson.ReadObject(request, MaxBodyBytes) is { Count: 1 } body && body["to"] is JsonValue v && v.TryGetValue<string>(out var to) && to.Length > 0
            ? to
            : null;

    private static IResult NoConfig(string id) =>
        Problems.Of(404, "config_not_found", "No such config", $"No version of config '{id}' is stored, and no role reads it.");

    private static IResult NoVersion(string id, string version) =>
        Problems.Of(404, "version_not_found", "No such version", $"Config '{id}' has no version '{version}'.");
}
