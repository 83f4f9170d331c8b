using System.Text;

namespace Switchboard.Tests.Security;

/// <summary>
/// Names stored before the rule of users' names (Users/UserNames.cs) keep working and are
/// renamed by an admin through the API (by id, so even a name holding '/' can be reached) or by
/// an operator with <c>users rename</c> (by name or id), then managed as any other. On both
/// stores; the rule itself is <see cref="UserNameRulesTests"/>.
/// </summary>
public abstract class LegacyUserNamesTests(StoreKind kind)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task ALegacyNameWithASlashStillAuthenticatesAndIsRenamedThroughTheApiThenManagedNormally()
    {
        await using var app = await TestApp.StartAsync(kind);
        var root = await app.AddAdminAsync("root", "--password", "long enough");
        var (id, key) = await LegacyUsers.Create(app.Store, "a/b", 10);
        // The server starts here, with both users in the store.
        var admin = root.Client;
        var legacy = app.ClientFor(key);

        // It keeps working as it is: its key, its balance.
        var me = await legacy.GetFromJsonAsync<JsonObject>("/svc/me/");
        Assert.Equal(10, me!["credits"]!.GetValue<long>());

        // Renamed by id: a bad new name, a taken one (ignoring case) and an unknown id change nothing.
        await Problem(await admin.PostAsync($"/admin/api/users/by-id/{id}/rename", Json("""{"name": "c/d"}""")), HttpStatusCode.BadRequest, "invalid_name");
        await Problem(await admin.PostAsync($"/admin/api/users/by-id/{id}/rename", Json("""{"name": "ROOT"}""")), HttpStatusCode.Conflict, "user_exists");
        await Problem(await admin.PostAsync($"/admin/api/users/by-id/{id}/rename", Json("""{"name": "ab", "admin": true}""")), HttpStatusCode.BadRequest, "invalid_name");
        await Problem(await admin.PostAsync($"/admin/api/users/by-id/{id}/rename", Json("""{"name": "\ud800"}""")), HttpStatusCode.BadRequest, "invalid_json");
        await Problem(await admin.PostAsync("/admin/api/users/by-id/u_nobody/rename", Json("""{"name": "ab"}""")), HttpStatusCode.NotFound, "user_not_found");
        await Problem(await admin.PostAsync("/admin/api/users/by-id/root/rename", Json("""{"name": "ab"}""")), HttpStatusCode.NotFound, "user_not_found");
        Assert.Equal("a/b", app.Query(c => c.Scalar<string>("SELECT name FROM users WHERE id = @id", ("@id", id))));

        var renamed = await admin.PostAsync($"/admin/api/users/by-id/{id}/rename", Json("""{"name": "ab"}"""));
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        Assert.Equal("a/b", (await renamed.Content.ReadFromJsonAsync<JsonObject>())!["previous"]!.GetValue<string>());

        // Managed as any other user from then on: read, granted credits, given a key.
        var shown = (await admin.GetFromJsonAsync<JsonObject>("/admin/api/users/ab"))!;
        Assert.Equal(id, shown["id"]!.GetValue<string>());
        var grant = await admin.PostAsync("/admin/api/users/ab/credits", Json("""{"kind": "grant", "amount": 5, "note": "after the rename"}"""));
        Assert.Equal(HttpStatusCode.OK, grant.StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync("/admin/api/users/ab/keys", null)).StatusCode);
        app.Refresh();
        Assert.Equal(15, (await legacy.GetFromJsonAsync<JsonObject>("/svc/me/"))!["credits"]!.GetValue<long>());
    }

    [Fact]
    public async Task TheCliRenamesALegacyNameByNameOrIdAndRefusesABadNewName()
    {
        await using var app = await TestApp.StartAsync(kind);
        var store = app.Store;
        var (id, _) = await LegacyUsers.Create(store, "old name", 3);
        await LegacyUsers.Create(store, "x/y");

        var bad = await app.CliAsync("users", "rename", "old name", "new name");
        Assert.Equal(2, bad.Exit);
        var byName = await app.CliJsonAsync("users", "rename", "old name", "newname");
        Assert.Equal(id, byName["id"]!.GetValue<string>());
        Assert.Equal("old name", byName["previous"]!.GetValue<string>());
        var slashId = store.Query(c => c.Scalar<string>("SELECT id FROM users WHERE name = 'x/y'"))!;
        await app.CliJsonAsync("users", "rename", slashId, "xy");

        var shown = await app.CliJsonAsync("credits", "show", "newname");
        Assert.Equal(3, shown["credits"]!.GetValue<long>());
        Assert.Equal(["newname", "xy"], store.Query(c => UserStoreNames(c)));
    }

    private static List<string> UserStoreNames(System.Data.Common.DbConnection c) =>
        Switchboard.Users.UserStore.List(c).Select(u => u.Name).ToList();
}

public sealed class LegacyUserNamesOnSqlite() : LegacyUserNamesTests(StoreKind.Sqlite);

public sealed class LegacyUserNamesOnPostgres() : LegacyUserNamesTests(StoreKind.Postgres);
