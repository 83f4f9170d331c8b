using Microsoft.Playwright;

namespace Switchboard.Tests.Panel;

/// <summary>
/// The admin panel in a real browser (Debian's chromium through Playwright) against
/// <c>switchboard serve</c> on real Kestrel: login, wrong password, lockout, a non-admin
/// refused like a wrong password, logout, the dashboard, and a hostile user name shown as text. Users are made with
/// the CLI, as an operator would; each scenario uses its own user, so lockouts never cross.
/// </summary>
public sealed class AdminPanelBrowserTests(Chromium chromium) : AppTests, IClassFixture<Chromium>
{
    private const string Password = PanelSession.Password;
    private const string Hostile = "<script>alert(1)</script>";

    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: text, action: shout, handler: echo.render, price: 1, prompt_template: "Say {word}", create_qty: 1}
        """);

    private SwitchboardProcess? _serve;
    private string _key = "";

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        foreach (var (name, admin) in new[] { ("root", true), ("ops", true), ("locked", true), ("bob", false) })
        {
            var (exit, _, error) = await Infrastructure.Cli.Run(app.Store, admin ? ["users", "create", name, "--admin", "--password", Password] : ["users", "create", name, "--password", Password]);
            Assert.True(exit == 0, error);
        }
        // Refused as a new name now (UserNames): kept as a stored name from before the rules.
        await LegacyUsers.Create(app.Store, Hostile, admin: true, password: Password);
        await Infrastructure.Cli.ApplyCatalog(app.Store, Catalog);
        (_, _key) = await Infrastructure.Cli.CreateUser(app.Store, "alice", 100);
        _serve = await app.StartServeAsync();
        return app;
    }

    private async Task<IPage> Page() => await chromium.NewPage(_serve!.Address!);

    private static Task<IResponse> LogIn(IPage page, string name, string password) => PanelSession.LogIn(page, name, password);

    /// <summary>The login page says <paramref name="message"/>, and the panel still sends the page back to it.</summary>
    private static async Task AssertRefused(IPage page, string message)
    {
        Assert.Contains(message, await page.Locator(".alert").InnerTextAsync());
        await page.GotoAsync("/admin/");
        Assert.EndsWith("/admin/login", page.Url);
    }

    [Fact]
    public async Task AnAdminLogsInSeesTheDashboardAndLogsOut()
    {
        using var api = _serve!.Client(_key);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(202, (int)(await api.PostAsJsonAsync("/svc/text/shout/", new { word = $"w{i}" })).StatusCode);
        }
        var page = await Page();
        await Chromium.Scenario(page, nameof(AnAdminLogsInSeesTheDashboardAndLogsOut), async () =>
        {
            await page.GotoAsync("/admin/");
            Assert.EndsWith("/admin/login", page.Url);
            Directory.CreateDirectory(Chromium.ScreenshotDir);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.ScreenshotDir, "login.png") });

            await LogIn(page, "root", Password);
            await Chromium.Arrive(page, "**/admin/");
            Assert.Equal("root", await page.Locator("[data-test=user]").InnerTextAsync());
            Assert.Equal("Dashboard", await page.Locator("h1").InnerTextAsync());
            Assert.Equal(1, await page.Locator("svg.chart").CountAsync());
            Assert.Equal("3", await page.Locator(".tile b").First.InnerTextAsync()); // Requests, 24 h.
            Assert.Contains("Queue depth", await page.Locator(".tiles").InnerTextAsync());
            Assert.Contains("Live executors", await page.Locator(".tiles").InnerTextAsync());
            Assert.Equal(9, await page.Locator(".sidebar a.nav-item").CountAsync()); // Plans since issue 22.
            Assert.Equal("Dashboard", await page.Locator(".nav-item.active").InnerTextAsync());
            var css = await page.EvaluateAsync<string>("getComputedStyle(document.querySelector('.sidebar')).display");
            Assert.Equal("block", css); // The stylesheet loaded (served by the app, no CDN).
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.ScreenshotDir, "dashboard.png") });

            await page.ClickAsync("text=Log out");
            await Chromium.Arrive(page, "**/admin/login");
            await page.GotoAsync("/admin/");
            Assert.EndsWith("/admin/login", page.Url);
        });
    }

    [Fact]
    public async Task AWrongPasswordIsRefusedWithAMessage()
    {
        var page = await Page();
        await Chromium.Scenario(page, nameof(AWrongPasswordIsRefusedWithAMessage), async () =>
        {
            var response = await LogIn(page, "ops", "not the password");
            Assert.Equal(401, response.Status);
            await AssertRefused(page, "Wrong user name or password");
        });
    }

    [Fact]
    public async Task FiveFailuresLockTheUserOutEvenWithTheRightPassword()
    {
        var page = await Page();
        await Chromium.Scenario(page, nameof(FiveFailuresLockTheUserOutEvenWithTheRightPassword), async () =>
        {
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(401, (await LogIn(page, "locked", "wrong " + i)).Status);
            }
            var response = await LogIn(page, "locked", Password);
            Assert.Equal(429, response.Status);
            await AssertRefused(page, "Too many failed attempts");
        });
    }

    [Fact]
    public async Task ANonAdminGetsTheAnswerOfAWrongPassword()
    {
        var page = await Page();
        await Chromium.Scenario(page, nameof(ANonAdminGetsTheAnswerOfAWrongPassword), async () =>
        {
            // Telling a non-admin's right password apart would confirm it to a guesser.
            var response = await LogIn(page, "bob", Password);
            Assert.Equal(401, response.Status);
            await AssertRefused(page, "Wrong user name or password");
        });
    }

    [Fact]
    public async Task AHostileUserNameIsShownAsText()
    {
        var page = await Page();
        var dialogs = ScriptDialogs.On(page);
        await Chromium.Scenario(page, nameof(AHostileUserNameIsShownAsText), async () =>
        {
            await LogIn(page, Hostile, Password);
            await Chromium.Arrive(page, "**/admin/");
            Assert.Equal(Hostile, await page.Locator("[data-test=user]").InnerTextAsync());
            Assert.Equal(0, await page.Locator("header script").CountAsync());
            Assert.Equal(0, dialogs.Count);
        });
    }

    [Fact]
    public async Task APanelPostWithTheAdminsCookieButNoAntiforgeryTokenChangesNothing()
    {
        var page = await PanelSession.AdminPage(chromium, _serve!, "root");
        await Chromium.Scenario(page, nameof(APanelPostWithTheAdminsCookieButNoAntiforgeryTokenChangesNothing), async () =>
        {
            // The browser's cookies (the admin's session) go along; the form's token does not.
            var form = page.Context.APIRequest.CreateFormData();
            form.Set("confirm", "yes");
            var response = await page.Context.APIRequest.PostAsync("/admin/offers/text/shout/delete", new() { Form = form, MaxRedirects = 0 });
            Assert.Equal(400, response.Status);
            Assert.Contains("nothing was changed", await response.TextAsync());
            Assert.NotNull(App.Store.Query(Switchboard.Catalog.CatalogStore.Load).FindOffer("text", "shout"));
        });
    }

    [Fact]
    public async Task AFormPostedWithoutItsAntiforgeryTokenIsRefused()
    {
        using var client = new HttpClient { BaseAddress = _serve!.Address };
        var response = await client.PostAsync("/admin/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "root", ["password"] = Password }));
        Assert.Equal(400, (int)response.StatusCode);
    }
}
