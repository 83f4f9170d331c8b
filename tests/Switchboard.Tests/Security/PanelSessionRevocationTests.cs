namespace Switchboard.Tests.Security;

/// <summary>
/// An open panel session ends within seconds, on every api process, when its user's password
/// changes, its admin rights are removed or it is disabled (the security stamp and state are
/// read from the store per request): the session is opened on one in-memory api process and used
/// on a second one on the same store, while the CLI makes the change.
/// </summary>
public abstract class PanelSessionRevocationTests(StoreKind kind) : AppTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(15);

    private readonly CookieContainer _cookies = new();
    private SwitchboardFactory _a = null!;
    private SwitchboardFactory _b = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind);
        await PanelSession.CreateAdmin(app.Store, "root");
        await PanelSession.CreateAdmin(app.Store, "ops");
        // The second api process on the same store.
        (_a, _b) = (app.Server, app.Own(new SwitchboardFactory(app.Store)));
        return app;
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

        var (exit, _, error) = await PanelApps.Cli(App.Store, "a brand new password\n", "users", "password", "root", "--password-stdin");
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

        await PanelApps.Ok(App.Store, "users", "remove-admin", "root");

        await PanelApps.UntilLoggedOut(onB, Within);
    }

    [Fact]
    public async Task DisablingTheUserEndsTheSessionOnAnotherProcessWithinSeconds()
    {
        var onB = await SignedInOnBoth();

        await PanelApps.Ok(App.Store, "users", "disable", "root");

        await PanelApps.UntilLoggedOut(onB, Within);
        using var fresh = PanelApps.Client(_a, new CookieContainer());
        Assert.Equal(HttpStatusCode.Unauthorized, (await PanelSession.LogIn(fresh, "root", PanelSession.Password)).StatusCode);
        await PanelApps.Ok(App.Store, "users", "enable", "root");
        Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(fresh, "root", PanelSession.Password)).StatusCode);
    }

    [Fact]
    public async Task AnotherUsersChangeLeavesTheSessionOpen()
    {
        var onB = await SignedInOnBoth();

        var (exit, _, error) = await PanelApps.Cli(App.Store, "ops has a new one\n", "users", "password", "ops", "--password-stdin");
        Assert.True(exit == 0, error);

        // Past the stamp cache of every process: the store has been read again meanwhile. Not a
        // wait for a condition: time must pass to show the session is NOT closed.
        await Task.Delay(Admin.Panel.PanelSessions.CacheFor * 2);
        Assert.Equal(HttpStatusCode.OK, (await onB.GetAsync("/admin/")).StatusCode);
    }
}

public sealed class PanelSessionRevocationOnSqlite() : PanelSessionRevocationTests(StoreKind.Sqlite);

public sealed class PanelSessionRevocationOnPostgres() : PanelSessionRevocationTests(StoreKind.Postgres);
