namespace Switchboard.Tests.Security;

/// <summary>
/// A disabled user's API keys stop authenticating on a running api process (it reloads keys when
/// <c>auth_version</c> moves, as for a revoked key) and work again once it is enabled; the admin
/// API disables, enables, grants and removes admin rights with problem+json errors, and never
/// leaves the deployment without an enabled admin.
/// </summary>
public abstract class DisabledUserTests(StoreKind kind) : AppTests
{
    private string _alice = "";
    private HttpClient _root = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind);
        _alice = (await app.AddUserAsync("alice", 10)).Key;
        _root = (await app.AddAdminAsync("root")).Client;
        return app;
    }

    private Task<HttpStatusCode> UntilMe(string key, HttpStatusCode wanted) => Until(key, "/svc/me/", wanted);

    /// <summary>Polls until <paramref name="path"/> answers <paramref name="wanted"/> (processes reload keys within a poll interval); fails after 15 s.</summary>
    private async Task<HttpStatusCode> Until(string key, string path, HttpStatusCode wanted)
    {
        var client = App.ClientFor(key);
        return await Wait.ForValue(async () => (await client.GetAsync(path)).StatusCode, wanted, TimeSpan.FromSeconds(15), $"the status of {path}");
    }

    [Fact]
    public async Task ADisabledUsersKeyGets401UntilItIsEnabled()
    {
        Assert.Equal(HttpStatusCode.OK, await UntilMe(_alice, HttpStatusCode.OK));

        await PanelApps.Ok(App.Store, "users", "disable", "alice");
        Assert.Equal(HttpStatusCode.Unauthorized, await UntilMe(_alice, HttpStatusCode.Unauthorized));

        await PanelApps.Ok(App.Store, "users", "enable", "alice");
        Assert.Equal(HttpStatusCode.OK, await UntilMe(_alice, HttpStatusCode.OK));
    }

    [Fact]
    public async Task TheAdminApiDisablesEnablesAndChangesAdminRights()
    {
        var disabled = await _root.PostAsync("/admin/api/users/alice/disable", null);
        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        Assert.True((await disabled.Content.ReadFromJsonAsync<JsonObject>())!["disabled"]!.GetValue<bool>());
        Assert.Equal(HttpStatusCode.Unauthorized, await UntilMe(_alice, HttpStatusCode.Unauthorized));
        // Listings say so.
        Assert.NotNull((await _root.GetFromJsonAsync<JsonObject>("/admin/api/users/alice"))!["disabled_at"]);
        Assert.Equal(HttpStatusCode.OK, (await _root.PostAsync("/admin/api/users/alice/enable", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, await UntilMe(_alice, HttpStatusCode.OK));
        Assert.Null((await _root.GetFromJsonAsync<JsonObject>("/admin/api/users/alice"))!["disabled_at"]);

        var granted = await _root.PutAsync("/admin/api/users/alice/admin", null);
        Assert.True((await granted.Content.ReadFromJsonAsync<JsonObject>())!["is_admin"]!.GetValue<bool>());
        Assert.Equal(HttpStatusCode.OK, await Until(_alice, "/admin/api/users", HttpStatusCode.OK));
        Assert.Equal(HttpStatusCode.OK, (await _root.DeleteAsync("/admin/api/users/alice/admin")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, await Until(_alice, "/admin/api/users", HttpStatusCode.Forbidden));
    }

    [Fact]
    public async Task TheLastEnabledAdminCanNeitherBeDisabledNorLoseItsRights()
    {
        foreach (var response in new[] { await _root.PostAsync("/admin/api/users/root/disable", null), await _root.DeleteAsync("/admin/api/users/root/admin") })
        {
            await Problem(response, HttpStatusCode.Conflict, "last_admin");
        }
        var missing = await _root.PostAsync("/admin/api/users/nobody/disable", null);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("user_not_found", (await missing.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
        var (exit, _, error) = await Infrastructure.Cli.Run(App.Store, "users", "disable", "root");
        Assert.Equal(1, exit);
        Assert.Contains("last enabled admin", error);
        Assert.Equal(HttpStatusCode.OK, (await _root.GetAsync("/admin/api/users")).StatusCode);
    }
}

public sealed class DisabledUserOnSqlite() : DisabledUserTests(StoreKind.Sqlite);

public sealed class DisabledUserOnPostgres() : DisabledUserTests(StoreKind.Postgres);
