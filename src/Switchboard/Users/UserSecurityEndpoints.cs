namespace Switchboard.Users;

/// <summary>
/// A user's admin rights and disabled state in the admin JSON API, with
/// <see cref="UserSecurity"/>'s rules (the CLI's): <c>POST /admin/api/users/{name}/disable</c> and
/// <c>/enable</c>, <c>PUT</c> and <c>DELETE /admin/api/users/{name}/admin</c>. The last enabled
/// admin cannot be disabled or lose its rights (409 <c>last_admin</c>). Passwords are set with
/// the CLI only: an admin cannot take over another admin's panel login through the API.
/// </summary>
public static class UserSecurityEndpoints
{
    public static RouteGroupBuilder MapUserSecurityAdmin(this RouteGroupBuilder admin)
    {
        admin.MapPost("/users/{name}/disable", (string name, Store store) => Change(store, c => UserSecurity.SetDisabled(c, name, true)))
            .Describe("users", "disable_user", "Disable a user (its keys and sessions stop working)").AnswersJson(200, 404, 409);
        admin.MapPost("/users/{name}/enable", (string name, Store store) => Change(store, c => UserSecurity.SetDisabled(c, name, false)))
            .Describe("users", "enable_user", "Enable a user").AnswersJson(200, 404);
        admin.MapPut("/users/{name}/admin", (string name, Store store) => Change(store, c => UserSecurity.SetAdmin(c, name, true)))
            .Describe("users", "grant_admin", "Make a user an admin").AnswersJson(200, 404);
        admin.MapDelete("/users/{name}/admin", (string name, Store store) => Change(store, c => UserSecurity.SetAdmin(c, name, false)))
            .Describe("users", "revoke_admin", "Take a user's admin rights").AnswersJson(200, 404, 409);
        return admin;
    }

    private static async Task<IResult> Change(Store store, Func<System.Data.Common.DbConnection, UserInfo> change)
    {
        try
        {
            var user = await store.WriteAsync(change);
            using var connection = store.Open();
            return TypedResults.Ok(UserSecurity.ToJson(connection, user));
        }
        catch (UserSecurityException ex)
        {
            return Problems.Of(ex.Status, ex.Code, ex.Status == 404 ? "No such user" : "Refused", ex.Message);
        }
    }
}
