using System.Text;

namespace Switchboard.Tests.UserAdmin;

/// <summary>
/// <c>/admin/api/users</c> and <c>/admin/api/keys</c>: list, create (first key once), read
/// (prefixes only), create and revoke keys, and a problem with a stable code for each bad input.
/// </summary>
public sealed class UsersAdminEndpointTests : AppTests
{
    private TestUser _root = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        await app.AddUserAsync("alice", 100);
        _root = await app.AddAdminAsync();
        return app;
    }

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<int> Me(string key)
    {
        using var client = App.ClientFor(key);
        return (int)(await client.GetAsync("/svc/me/")).StatusCode;
    }

    [Fact]
    public async Task ACreatedUserGetsItsCreditsAndAFirstKeyThatWorks()
    {
        var response = await _root.Client.PostAsync("/admin/api/users", Body("""{"name": "carol", "credits": 25, "password": "long enough", "admin": true}"""));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("carol", created["name"]!.GetValue<string>());
        Assert.True(created["is_admin"]!.GetValue<bool>());
        Assert.Equal(25, created["credits"]!.GetValue<long>());
        var key = created["api_key"]!.GetValue<string>();
        Assert.Equal(200, await Me(key));
        var ledger = await App.CliJsonAsync("credits", "show", "carol");
        Assert.Equal("root", ledger["ledger"]![0]!["actor"]!.GetValue<string>());

        var list = (await _root.Client.GetFromJsonAsync<JsonObject>("/admin/api/users"))!["users"]!.AsArray();
        Assert.Equal(["alice", "carol", "root"], list.Select(u => u!["name"]!.GetValue<string>()));
        Assert.Equal(1, list[1]!["active_keys"]!.GetValue<int>());
        Assert.DoesNotContain(key, list.ToJsonString());
    }

    [Fact]
    public async Task AUserIsShownWithItsKeysByPrefixOnly()
    {
        var made = (await (await _root.Client.PostAsync("/admin/api/users/alice/keys", null)).Content.ReadFromJsonAsync<JsonObject>())!;

        var response = await _root.Client.GetAsync("/admin/api/users/alice");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        var user = JsonNode.Parse(text)!;
        Assert.Equal(100, user["credits"]!.GetValue<long>());
        var keys = user["keys"]!.AsArray();
        Assert.Equal(2, keys.Count);
        Assert.Contains(keys, k => k!["prefix"]!.GetValue<string>() == made["prefix"]!.GetValue<string>());
        Assert.All(keys, k => Assert.Null(k!["api_key"]));
        Assert.DoesNotContain(made["api_key"]!.GetValue<string>(), text);
    }

    [Fact]
    public async Task AKeyIsCreatedThenRevokedAndStopsWorking()
    {
        var response = await _root.Client.PostAsync("/admin/api/users/alice/keys", null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.True(response.Headers.CacheControl?.NoStore, "an answer holding a key must not be cached");
        var made = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var key = made["api_key"]!.GetValue<string>();
        var prefix = made["prefix"]!.GetValue<string>();
        Assert.StartsWith(prefix + "_", key);
        Assert.Equal(200, await Me(key));

        var revoked = await _root.Client.DeleteAsync($"/admin/api/keys/{prefix}");

        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        App.Refresh();
        Assert.Equal(401, await Me(key));
        var keys = (await _root.Client.GetFromJsonAsync<JsonObject>("/admin/api/users/alice"))!["keys"]!.AsArray();
        Assert.False(keys.Single(k => k!["prefix"]!.GetValue<string>() == prefix)!["active"]!.GetValue<bool>());
        await Problem(await _root.Client.DeleteAsync($"/admin/api/keys/{prefix}"), HttpStatusCode.NotFound, "key_not_found");
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1, 2]")]
    [InlineData("""{"name": "x", "name": "y"}""")]
    public async Task ABodyThatIsNotOneJsonObjectIs400InvalidJson(string body) =>
        await Problem(await _root.Client.PostAsync("/admin/api/users", Body(body)), HttpStatusCode.BadRequest, "invalid_json");

    [Theory]
    [InlineData("""{"name": ""}""", "name must not be empty")]
    [InlineData("""{"name": "   "}""", "name must not be empty")]
    [InlineData("""{"name": 7}""", "name must be a string")]
    [InlineData("""{"name": "dave", "credits": -1}""", "credits must be >= 0")]
    [InlineData("""{"name": "dave", "credits": 1.5}""", "credits must be a whole number")]
    [InlineData("""{"name": "dave", "admin": true}""", "password is required for an admin")]
    [InlineData("""{"name": "dave", "admin": "yes", "password": "long enough"}""", "admin must be true or false")]
    [InlineData("""{"name": "dave", "password": "short"}""", "password must be at least 8 characters")]
    [InlineData("""{"name": "dave", "role": "admin"}""", "role is not a field of a user")]
    public async Task AnInvalidUserIs400WithItsErrors(string body, string error)
    {
        var problem = await Problem(await _root.Client.PostAsync("/admin/api/users", Body(body)), HttpStatusCode.BadRequest, "invalid_user");

        Assert.Contains(problem["errors"]!.AsArray(), e => e!.GetValue<string>().StartsWith(error, StringComparison.Ordinal));
        Assert.Equal(2, App.Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM users")));
    }

    [Fact]
    public async Task ATakenNameIs409UserExists()
    {
        await Problem(await _root.Client.PostAsync("/admin/api/users", Body("""{"name": "alice"}""")), HttpStatusCode.Conflict, "user_exists");

        Assert.Equal(100, (await _root.Client.GetFromJsonAsync<JsonObject>("/admin/api/users/alice"))!["credits"]!.GetValue<long>());
    }

    [Fact]
    public async Task AnUnknownUserIs404UserNotFound()
    {
        await Problem(await _root.Client.GetAsync("/admin/api/users/nobody"), HttpStatusCode.NotFound, "user_not_found");
        await Problem(await _root.Client.PostAsync("/admin/api/users/nobody/keys", null), HttpStatusCode.NotFound, "user_not_found");
    }

    [Fact]
    public async Task AnUnknownKeyIs404KeyNotFound() =>
        await Problem(await _root.Client.DeleteAsync("/admin/api/keys/sb_nothere"), HttpStatusCode.NotFound, "key_not_found");

    [Fact]
    public async Task ANonAdminKeyIsRefused()
    {
        var (_, key) = await Infrastructure.Cli.CreateUser(App.Store, "eve", 0);
        using var eve = App.ClientFor(key);

        await Problem(await eve.GetAsync("/admin/api/users"), HttpStatusCode.Forbidden, "admin_required");
    }
}
