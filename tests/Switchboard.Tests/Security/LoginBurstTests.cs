using Microsoft.AspNetCore.Mvc.Testing;
using Switchboard.Admin.Panel;

namespace Switchboard.Tests.Security;

/// <summary>
/// The login lockout holds under a burst: 20 wrong passwords sent at once, spread over two api
/// processes on the same store, get exactly <see cref="LoginThrottle.MaxFailures"/> password
/// checks between them (each attempt is counted atomically before its check); the others are
/// refused with 429 unchecked.
/// </summary>
public abstract class LoginBurstTests(StoreKind kind) : AppTests
{
    private SwitchboardFactory _a = null!;
    private SwitchboardFactory _b = null!;

    protected override async Task<TestApp> StartAsync()
    {
        // A generous wait for a hashing slot: here every attempt must reach the throttle.
        var settings = new Dictionary<string, string?> { ["Switchboard:LoginHashWait"] = "00:01:00" };
        var app = await TestApp.StartAsync(kind, settings);
        await PanelSession.CreateAdmin(app.Store, "root");
        // The second api process on the same store.
        (_a, _b) = (app.Server, app.Own(new SwitchboardFactory(app.Store, settings)));
        return app;
    }

    [Fact]
    public async Task TwentyParallelWrongPasswordsGetNoMoreChecksThanTheLimit()
    {
        // Each attempt with a form of its own, fetched first; then all posted at once.
        var forms = new List<(HttpClient Client, string Token)>();
        for (var i = 0; i < 20; i++)
        {
            WebApplicationFactory<Program> app = i % 2 == 0 ? _a : _b;
            var client = PanelApps.Client(app, new CookieContainer());
            forms.Add((client, await PanelSession.FormToken(client, "/admin/login")));
        }
        var answers = await Task.WhenAll(forms.Select((f, i) => f.Client.PostAsync("/admin/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = f.Token,
            ["username"] = "root",
            ["password"] = "guess " + i,
        }))));

        Assert.Equal(LoginThrottle.MaxFailures, PanelApps.Checks(_a).Computed + PanelApps.Checks(_b).Computed);
        Assert.Equal(LoginThrottle.MaxFailures, answers.Count(a => a.StatusCode == HttpStatusCode.Unauthorized));
        Assert.Equal(20 - LoginThrottle.MaxFailures, answers.Count(a => a.StatusCode == HttpStatusCode.TooManyRequests));
        using var admin = PanelApps.Client(_a, new CookieContainer());
        Assert.Equal(HttpStatusCode.TooManyRequests, (await PanelSession.LogIn(admin, "root", PanelSession.Password)).StatusCode);
    }
}

public sealed class LoginBurstOnSqlite() : LoginBurstTests(StoreKind.Sqlite);

public sealed class LoginBurstOnPostgres() : LoginBurstTests(StoreKind.Postgres);
