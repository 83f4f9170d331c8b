using Switchboard.Users;

namespace Switchboard.Retention;

/// <summary>
/// <c>POST /admin/api/users/{name}/forget</c>: what <c>switchboard users forget NAME</c> does
/// (<see cref="UserForget"/>), for an admin's key; recorded in the audit trail by the admin
/// group's filter like every admin action.
/// </summary>
public static class ForgetAdminEndpoint
{
    public static void MapForgetAdmin(this RouteGroupBuilder admin) =>
        admin.MapPost("/users/{name}/forget", Handle)
            .Describe("users", "forget_user", "Delete a user's requests, results and webhook rows (the ledger and the account stay)")
            .AnswersJson(200, 404, 409);

    private static async Task<IResult> Handle(string name, Store store)
    {
        UserInfo? user;
        using (var connection = store.Open())
        {
            user = UserStore.Find(connection, name);
        }
        if (user is null)
        {
            return Problems.Of(404, "user_not_found", "No such user", $"No user is named '{name}'.");
        }
        try
        {
            return TypedResults.Json(UserForget.ToJson(user.Name, await UserForget.ForgetAsync(store, user.Id, Clock.NowMs())));
        }
        catch (UnfinishedRequestsException ex)
        {
            return Problems.Of(409, "requests_not_finished", "Requests not finished", $"{user.Name}: {ex.Message}. Nothing was deleted.",
                new Dictionary<string, object?> { ["unfinished"] = ex.Count });
        }
    }
}
