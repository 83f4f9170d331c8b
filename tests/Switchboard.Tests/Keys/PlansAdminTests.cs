using System.Text;

namespace Switchboard.Tests.Keys;

/// <summary>
/// Plans and users' scheduling through the admin API and the CLI (one set of rules): add, change,
/// list, remove (409 while users have it), set a user's plan and weight; each change reaches the
/// caller the key cache resolves; each bad input is a problem; each change is in the audit trail.
/// </summary>
public abstract class PlansAdminTests(StoreKind kind) : AppTests
{
    private TestUser _root = null!;
    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: KeyLimitTests.Catalog);
        _alice = await app.AddUserAsync("alice", 100);
        _root = await app.AddAdminAsync();
        return app;
    }

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private Task<HttpResponseMessage> Patch(string path, string json) => _root.Client.PatchAsync(path, Body(json));

    private Users.AuthUser Caller() => App.Server.Services.GetRequiredService<Users.ApiKeyCache>().Find(_alice.Key)!;

    [Fact]
    public async Task APlanIsAddedChangedAndGivenToAUserWhoseKeysThenCarryIt()
    {
        var added = await _root.Client.PostAsync("/admin/api/plans", Body("""{"name": "team", "weight": 3, "max_priority": 7, "key_rpm": 120}"""));
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Patch("/admin/api/plans/team", """{"key_rpm": null, "key_max_concurrent": 4}""")).StatusCode);
        var user = await Patch("/admin/api/users/alice/scheduling", """{"plan": "team", "priority": 6}""");
        Assert.Equal(HttpStatusCode.OK, user.StatusCode);
        App.Refresh();

        var caller = Caller();
        Assert.Equal("team", caller.Plan);
        Assert.Equal(3, caller.Weight);
        Assert.Equal(6, caller.Priority);
        Assert.Equal(7, caller.MaxPriority);
        Assert.Null(caller.Limits.Rpm);
        Assert.Equal(4, caller.Limits.MaxConcurrent);
        var plan = (await _root.Client.GetFromJsonAsync<JsonObject>("/admin/api/plans/team"))!;
        Assert.Equal(1, plan["users"]!.GetValue<int>());

        // The user's own weight wins over the plan's.
        await App.CliJsonAsync("users", "set", "alice", "--weight", "9");
        App.Refresh();
        Assert.Equal(9, Caller().Weight);
        var audit = App.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM audit_log WHERE action LIKE '%plans%' OR action LIKE '%scheduling%' OR action LIKE 'users set%'"));
        Assert.True(audit >= 4, $"{audit} audit rows");
    }

    [Fact]
    public async Task APlanUsersHaveCannotBeRemoved()
    {
        await App.CliJsonAsync("plans", "add", "team", "--weight", "3");
        await App.CliJsonAsync("users", "set", "alice", "--plan", "team");

        var problem = await ProblemAssert.Problem(await _root.Client.DeleteAsync("/admin/api/plans/team"), HttpStatusCode.Conflict, "plan_in_use");
        var (exit, _, error) = await App.CliAsync("plans", "remove", "team");

        Assert.Equal(1, problem["users"]!.GetValue<int>());
        Assert.Equal(1, exit);
        Assert.Contains("move them first", error);
        await App.CliJsonAsync("users", "set", "alice", "--plan", "none");
        Assert.Equal(HttpStatusCode.OK, (await _root.Client.DeleteAsync("/admin/api/plans/team")).StatusCode);
        Assert.Equal(0, App.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM plans")));
    }

    [Theory]
    [InlineData("POST", "/admin/api/plans", """{"name": "team", "weight": 0}""", 400, "invalid_plan")]
    [InlineData("POST", "/admin/api/plans", """{"name": "team", "priority": 10}""", 400, "invalid_plan")]
    [InlineData("POST", "/admin/api/plans", """{"name": "team", "key_budget_period": "week"}""", 400, "invalid_plan")]
    [InlineData("POST", "/admin/api/plans", """{"name": "a/b"}""", 400, "invalid_plan")]
    [InlineData("POST", "/admin/api/plans", """{"name": "team", "colour": 1}""", 400, "invalid_plan")]
    [InlineData("POST", "/admin/api/plans", """{"name": "team", "weight": [1]}""", 400, "invalid_plan")]
    [InlineData("POST", "/admin/api/plans", """nope""", 400, "invalid_json")]
    [InlineData("PATCH", "/admin/api/plans/ghost", """{"weight": 2}""", 404, "plan_not_found")]
    [InlineData("PATCH", "/admin/api/users/alice/scheduling", """{"plan": "ghost"}""", 404, "plan_not_found")]
    [InlineData("PATCH", "/admin/api/users/nobody/scheduling", """{"weight": 2}""", 404, "user_not_found")]
    [InlineData("PATCH", "/admin/api/users/alice/scheduling", """{"key_rpm": 2}""", 400, "invalid_plan")]
    [InlineData("DELETE", "/admin/api/plans/ghost", "", 404, "plan_not_found")]
    public async Task BadPlanInputIsAProblemAndChangesNothing(string method, string path, string json, int status, string code)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (json.Length > 0)
        {
            request.Content = Body(json);
        }

        await ProblemAssert.Problem(await _root.Client.SendAsync(request), (HttpStatusCode)status, code);

        Assert.Equal(0, App.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM plans")));
        Assert.Null(App.Query(c => c.Scalar<string?>("SELECT plan FROM users WHERE name = 'alice'")));
        Assert.Null(App.Query(c => c.Scalar<long?>("SELECT weight FROM users WHERE name = 'alice'")));
    }

    [Fact]
    public async Task AddingAPlanTwiceIsAConflict()
    {
        Assert.Equal(HttpStatusCode.Created, (await _root.Client.PostAsync("/admin/api/plans", Body("""{"name": "team"}"""))).StatusCode);
        await ProblemAssert.Problem(await _root.Client.PostAsync("/admin/api/plans", Body("""{"name": "team"}""")), HttpStatusCode.Conflict, "plan_exists");
        var (exit, _, error) = await App.CliAsync("plans", "add", "team");
        Assert.Equal(1, exit);
        Assert.Contains("exists already", error);
    }

    [Fact]
    public async Task TheAdminApiCreatesAKeyWithLimitsAndRefusesBadOnes()
    {
        var response = await _root.Client.PostAsync("/admin/api/users/alice/keys",
            Body("""{"name": "ci", "scopes": ["text/*"], "max_concurrent": 2, "budget": 50, "budget_period": "month", "expires": "30d"}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("ci", created["key_name"]!.GetValue<string>());
        var keys = (await _root.Client.GetFromJsonAsync<JsonObject>("/admin/api/users/alice"))!["keys"]!.AsArray();
        var listed = keys.Single(k => k!["prefix"]!.GetValue<string>() == created["prefix"]!.GetValue<string>())!;
        Assert.Equal(2, listed["max_concurrent"]!.GetValue<int>());
        Assert.Equal("month", listed["budget_period"]!.GetValue<string>());

        var count = App.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM api_keys"));
        await ProblemAssert.Problem(await _root.Client.PostAsync("/admin/api/users/alice/keys", Body("""{"rpm": -1}""")), HttpStatusCode.BadRequest, "invalid_key");
        await ProblemAssert.Problem(await _root.Client.PostAsync("/admin/api/users/alice/keys", Body("""{"budget_period": "day"}""")), HttpStatusCode.BadRequest, "invalid_key");
        Assert.Equal(count, App.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM api_keys")));
        // Without a body, as before: an unlimited key.
        Assert.Equal(HttpStatusCode.Created, (await _root.Client.PostAsync("/admin/api/users/alice/keys", null)).StatusCode);
    }
}

public sealed class PlansAdminOnSqlite() : PlansAdminTests(StoreKind.Sqlite);

public sealed class PlansAdminOnPostgres() : PlansAdminTests(StoreKind.Postgres);
