using Switchboard.Users;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// Users whose names break today's name rules (<see cref="UserNames"/>), as stores made before
/// the rules hold them: written straight into the store, past the checks of the API, the panel
/// and the CLI. Tests that show such names (as hostile text, or to rename them) start here.
/// </summary>
public static class LegacyUsers
{
    /// <summary>Creates the user and returns (id, api key).</summary>
    public static async Task<(string Id, string Key)> Create(TestStore store, string name, long credits = 0, bool admin = false, string? password = null)
    {
        var (user, key) = await store.Store.WriteAsync(c => UserStore.CreateWithKey(c, name, admin, credits, password, "legacy"));
        return (user.Id, key);
    }
}
