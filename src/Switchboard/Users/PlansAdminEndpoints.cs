namespace Switchboard.Users;

/// <summary>
/// Plans and users' scheduling settings in the admin API: <c>/admin/api/plans</c> (list, add,
/// read, change, remove) and <c>PATCH /admin/api/users/{name}/scheduling</c>. A change's body is a
/// JSON object of settings, null clearing one (<see cref="Plans.PlanFields"/>, <see cref="Plans.UserFields"/>).
/// </summary>
public static class PlansAdminEndpoints
{
    private const int MaxBodyBytes = 16 * 1024;

    public static RouteGroupBuilder MapPlansAdmin(this RouteGroupBuilder admin)
    {
        admin.MapGet("/plans", List).Describe("plans", "list_plans", "The plans").AnswersJson(200);
        admin.MapPost("/plans", Add).Describe("plans", "add_plan", "Add a plan: {name, weight, priority, max_priority, key_rpm, key_max_concurrent, key_budget, key_budget_period}")
            .AnswersJson(201, 400, 409);
        admin.MapGet("/plans/{name}", Get).Describe("plans", "get_plan", "A plan").AnswersJson(200, 404);
        admin.MapPatch("/plans/{name}", Set).Describe("plans", "set_plan", "Change a plan's settings (null clears one)").AnswersJson(200, 400, 404);
        admin.MapDelete("/plans/{name}", Remove).Describe("plans", "remove_plan", "Remove a plan no user has").AnswersJson(200, 404, 409);
        admin.MapPatch("/users/{name}/scheduling", SetUser)
            .Describe("plans", "set_user_scheduling", "Set or clear a user's plan, weight, priority and max_priority (null clears)").AnswersJson(200, 400, 404);
        return admin;
    }

    private static IResult List(Store store)
    {
        using var connection = store.Open();
        return TypedResults.Ok(new JsonObject { ["plans"] = new JsonArray([.. Plans.List(connection).Select(p => (JsonNode)p.ToJson())]) });
    }

    private static IResult Get(string name, Store store)
    {
        using var connection = store.Open();
        return Plans.Find(connection, name) is { } plan ? TypedResults.Ok(plan.ToJson()) : NotFound(name);
    }

    private static async Task<IResult> Add(HttpContext http, Store store)
    {
        if (await AdminJson.ReadObject(http.Request, MaxBodyBytes) is not { } body)
        {
            return Problems.Of(400, "invalid_json", "Invalid plan", $"The body must be a JSON object of at most {MaxBodyBytes} bytes.");
        }
        var errors = new List<string>();
        var changes = Plans.Read(body, errors);
        var name = changes.Remove("name", out var n) ? n as string : null;
        if (Plans.NameProblem(name) is { } problem)
        {
            errors.Add(problem);
        }
        errors.AddRange(Plans.Problems(changes, Plans.PlanFields));
        if (errors.Count > 0)
        {
            return Invalid(errors);
        }
        try
        {
            var plan = await store.WriteAsync(c => Plans.Add(c, name!, changes));
            return TypedResults.Json(plan.ToJson(), statusCode: 201);
        }
        catch (PlanExistsException ex)
        {
            return Problems.Of(409, "plan_exists", "The plan exists already", ex.Message);
        }
    }

    private static async Task<IResult> Set(string name, HttpContext http, Store store)
    {
        var (changes, problem) = await ReadChanges(http, Plans.PlanFields);
        if (problem is not null)
        {
            return problem;
        }
        return await store.WriteAsync(c => Plans.Set(c, name, changes!)) is { } plan ? TypedResults.Ok(plan.ToJson()) : NotFound(name);
    }

    private static async Task<IResult> Remove(string name, Store store)
    {
        try
        {
            return await store.WriteAsync(c => Plans.Remove(c, name))
                ? TypedResults.Ok(new JsonObject { ["name"] = name, ["removed"] = true })
                : NotFound(name);
        }
        catch (PlanInUseException ex)
        {
            return Problems.Of(409, "plan_in_use", "Users are on this plan", ex.Message, new Dictionary<string, object?> { ["users"] = ex.Users });
        }
    }

    private static async Task<IResult> SetUser(string name, HttpContext http, Store store)
    {
        var (changes, problem) = await ReadChanges(http, Plans.UserFields);
        if (problem is not null)
        {
            return problem;
        }
        try
        {
            var result = await store.WriteAsync(c => Plans.SetUser(c, name, changes!) is { } user ? Plans.UserSettings(c, user.Id) : null);
            if (result is null)
            {
                return Problems.Of(404, "user_not_found", "No such user", $"No user is named '{name}'.");
            }
            result["name"] = name;
            return TypedResults.Ok(result);
        }
        catch (KeyNotFoundException ex)
        {
            return Problems.Of(404, "plan_not_found", "No such plan", ex.Message);
        }
    }

    private static async Task<(Dictionary<string, object?>? Changes, IResult? Problem)> ReadChanges(HttpContext http, IReadOnlyList<Plans.Field> fields)
    {
        if (await AdminJson.ReadObject(http.Request, MaxBodyBytes) is not { } body)
        {
            return (null, Problems.Of(400, "invalid_json", "Invalid settings", $"The body must be a JSON object of at most {MaxBodyBytes} bytes."));
        }
        var errors = new List<string>();
        var changes = Plans.Read(body, errors);
        errors.AddRange(Plans.Problems(changes, fields));
        return errors.Count > 0 ? (null, Invalid(errors)) : (changes, null);
    }

    private static IResult Invalid(List<string> errors) =>
        Problems.Of(400, "invalid_plan", "Invalid settings", string.Join("; ", errors), new Dictionary<string, object?> { ["errors"] = errors });

    private static IResult NotFound(string name) => Problems.Of(404, "plan_not_found", "No such plan", $"There is no plan '{name}'.");
}
