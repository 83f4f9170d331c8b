using Switchboard.Tests.Distributed;

namespace Switchboard.Tests.Panel;

/// <summary>
/// The panel's sessions belong to the deployment, not to one process: two api processes (each
/// with a home folder of its own, where Data Protection would otherwise keep its keys) accept
/// each other's login cookie and antiforgery tokens, and count one lockout between them.
/// </summary>
public sealed class PanelAcrossApiProcessesTests() : ProcessTestBase(Catalog)
{
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: text, action: shout, handler: echo.render, price: 1, prompt_template: "Say {word}"}
        """);

    private Task<SwitchboardProcess> Api(string home)
    {
        var folder = Path.Combine(Store.Path, "home-" + home);
        Directory.CreateDirectory(folder);
        return Start("api", new Dictionary<string, string> { ["HOME"] = folder });
    }

    [Fact]
    public async Task ACookieAndAFormFromOneApiProcessAreGoodOnAnother()
    {
        await PanelSession.CreateAdmin(Store, "root");
        var (a, b) = (await Api("a"), await Api("b"));
        var cookies = new CookieContainer();
        using var onA = PanelSession.HttpClient(a.Address!, cookies);
        using var onB = PanelSession.HttpClient(b.Address!, cookies);

        Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(onA, "root", PanelSession.Password)).StatusCode);
        var dashboard = await onB.GetAsync("/admin/");
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("Requests per minute, last 24 h", await dashboard.Content.ReadAsStringAsync());

        // The logout form B served, posted to A: its antiforgery token holds there too.
        var token = await PanelSession.FormToken(onB, "/admin/");
        var logout = await onA.PostAsync("/admin/logout", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        Assert.Equal("/admin/login", logout.Headers.Location?.OriginalString);
        var after = await onB.GetAsync("/admin/");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
    }

    [Fact]
    public async Task FailuresOnTwoApiProcessesAddUpToOneLockout()
    {
        await PanelSession.CreateAdmin(Store, "ops");
        var (a, b) = (await Api("a"), await Api("b"));
        using var onA = PanelSession.HttpClient(a.Address!, new CookieContainer());
        using var onB = PanelSession.HttpClient(b.Address!, new CookieContainer());

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await PanelSession.LogIn(i % 2 == 0 ? onA : onB, "ops", "wrong " + i)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await PanelSession.LogIn(onB, "ops", PanelSession.Password)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await PanelSession.LogIn(onA, "ops", PanelSession.Password)).StatusCode);
    }
}

/// <summary>
/// A <c>serve</c> restarted (with another home folder, as a new container would have) keeps its
/// admins signed in: the key that signed the cookie is in the store, sealed with the embedded
/// default's Fernet key, its secret never in plain text.
/// </summary>
public sealed class PanelAcrossRestartsTests
{
    [Fact]
    public async Task ARestartedServeKeepsTheAdminSignedIn()
    {
        await using var store = TestStore.Create(StoreKind.Sqlite);
        await PanelSession.CreateAdmin(store, "root");
        var cookies = new CookieContainer();
        await using (var first = await Serve(store, "1"))
        {
            using var client = PanelSession.HttpClient(first.Address!, cookies);
            Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(client, "root", PanelSession.Password)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/admin/")).StatusCode);
        }
        await using (var second = await Serve(store, "2"))
        {
            using var client = PanelSession.HttpClient(second.Address!, cookies);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/admin/")).StatusCode);
        }

        var keys = store.Query(c =>
        {
            using var command = c.Sql("SELECT xml FROM panel_keys");
            using var reader = command.ExecuteReader();
            var all = new List<string>();
            while (reader.Read())
            {
                all.Add(reader.GetString(0));
            }
            return all;
        });
        var key = Assert.Single(keys);
        Assert.Contains("FernetXmlDecryptor", key, StringComparison.Ordinal);
        Assert.DoesNotContain("<value>", key, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(store.Path, "home-1", ".aspnet")), "no key was written to the home folder");
    }

    private static Task<SwitchboardProcess> Serve(TestStore store, string home)
    {
        var folder = Path.Combine(store.Path, "home-" + home);
        Directory.CreateDirectory(folder);
        return SwitchboardProcess.StartRole(store, "serve", [], new Dictionary<string, string> { ["HOME"] = folder });
    }
}
