namespace Switchboard.Tests.Security;

/// <summary>
/// An open panel session ends within seconds, on every api process, when its user's password
/// changes, its admin rights are removed or it is disabled (the security stamp and state are
/// read from the store per request): the session is opened on one in-memory api process and used
/// on a second one on the same store, while the CLI makes the change.
/// </summary>
public abstract class PanelSessionRevocationTests(StoreKind kind) : IAsyncLifetime
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(15);

    private readonly TestStore _store = TestStore.Create(kind);
    private SwitchboardFactory _a = null!;
    private SwitchboardFactory _b = null!;
    private readonly CookieContainer _cookies = new();

    public async Task InitializeAsync()
    {
        await PanelSession.CreateAdmin(_store, "root");
        await PanelSession.CreateAdmin(_store, "ops");
        (_a, _b) = (new SwitchboardFactory(_store), new SwitchboardFactory(_store));
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _store.DisposeAsync();
    }

    /// <summary>root logs in on A; the session opens the dashboard on B. Returns B's client.</summary>
    private async Task<HttpClient> SignedInOnBoth()
    {
        var onA = PanelApps.Client(_a, _cookies);
        Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(onA, "root", PanelSession.Password)).StatusCode);
        var onB = PanelApps.Client(_b, _cookies);
        Assert.Equal(HttpStatusCode.OK, (await onB.GetAsync("/admin/")).StatusCode);
        return onB;
    }

    [Fact]
    public async Task APasswordChangeEndsTheSessionOnAnotherProcessWithinSeconds()
    {
        var onB = await SignedInOnBoth();

        var (exit, _, error) = await PanelApps.Cli(_store, "a brand new password\n", "users", "password", "root", "--password-stdin");
        Assert.True(exit == 0, error);

        await PanelApps.UntilLoggedOut(onB, Within);
        await PanelApps.UntilLoggedOut(PanelApps.Client(_a, _cookies), Within);
        using var fresh = PanelApps.Client(_b, new CookieContainer());
        Assert.Equal(HttpStatusCode.Unauthorized, (await PanelSession.LogIn(fresh, "root", PanelSession.Password)).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(fresh, "root", "a brand new password")).StatusCode);
    }

    [Fact]
    public async Task RemovingAdminRightsEndsTheSessionOnAnotherProcessWithinSeconds()
    {
        var onB = await SignedInOnBoth();

        await PanelApps.Ok(_store, "users", "remove-admin", "root");

        await PanelApps.UntilLoggedOut(onB, Within);
    }

    [Fact]
    public async Task DisablingTheUserEndsTheSessionOnAnotherProcessWithinSeconds()
    {
        var onB = await SignedInOnBoth();

        await PanelApps.Ok(_store, "users", "disable", "root");

        await PanelApps.UntilLoggedOut(onB, Within);
        using var fresh = PanelApps.Client(_a, new CookieContainer());
        Assert.Equal(HttpStatusCode.Unauthorized, (await PanelSession.LogIn(fresh, "root", PanelSession.Password)).StatusCode);
        await PanelApps.Ok(_store, "users", "enable", "root");
        Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(fresh, "root", PanelSession.Password)).StatusCode);
    }

    [Fact]
    public async Task AnotherUsersChangeLeavesTheSessionOpen()
    {
        var onB = await SignedInOnBoth();

        var (exit, _, error) = await PanelApps.Cli(_store, "ops has a new one\n", "users", "password", "ops", "--password-stdin");
        Assert.True(exit == 0, error);

        // Past the stamp cache of every process: the store has been read again meanwhile. Not a
        // wait for a condition: time must pass to show the session is NOT closed.
        await Task.Delay(Admin.Panel.PanelSessions.CacheFor * 2);
        Assert.Equal(HttpStatusCode.OK, (await onB.GetAsync("/admin/")).StatusCode);
    }
}

public sealed class PanelSessionRevocationOnSqlite() : PanelSessionRevocationTests(StoreKind.Sqlite);

public sealed class PanelSessionRevocationOnPostgres() : PanelSessionRevocationTests(StoreKind.Postgres);
