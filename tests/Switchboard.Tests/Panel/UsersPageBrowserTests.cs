using Microsoft.Playwright;

namespace Switchboard.Tests.Panel;

/// <summary>One <c>switchboard serve</c> (SQLite) for the Users page's browser tests, with an admin to log in as.</summary>
public sealed class UsersPanelServe : PanelServe
{
    public const string Hostile = "<img src=x onerror=alert(1)>";

    protected override async Task PrepareAsync()
    {
        await PanelSession.CreateAdmin(Store, "root");
        await Infrastructure.Cli.CreateUser(Store, "erin", 10);
        await Infrastructure.Cli.CreateUser(Store, "fay", 0);
        // Refused as a new name now (UserNames): kept as a stored name from before the rules.
        await LegacyUsers.Create(Store, Hostile, 3);
    }
}

/// <summary>
/// The Users page in a real browser: a user made through the form (errors beside the fields, the
/// first key shown once), credits granted and an adjustment below zero refused, a key made, used,
/// revoked through its confirmation page and never shown again, and a hostile name shown as text.
/// </summary>
public sealed class UsersPageBrowserTests(Chromium chromium, UsersPanelServe fixture) : IClassFixture<Chromium>, IClassFixture<UsersPanelServe>
{
    private SwitchboardProcess Serve => fixture.Serve;

    private Task<IPage> Admin() => PanelSession.AdminPage(chromium, Serve, "root");

    private async Task<int> Me(string key)
    {
        using var client = Serve.Client(key);
        return (int)(await client.GetAsync("/svc/me/")).StatusCode;
    }

    private long Count(string sql, params (string, object?)[] args) => fixture.Store.Query(c => c.Scalar<long>(sql, args));

    [Fact]
    public async Task AUserMadeThroughTheFormGetsItsFirstKeyOnce()
    {
        var page = await Admin();
        await Chromium.Scenario(page, nameof(AUserMadeThroughTheFormGetsItsFirstKeyOnce), async () =>
        {
            await page.GotoAsync("/admin/users");
            Assert.Equal("Users", await page.Locator(".nav-item.active").InnerTextAsync());
            await PanelSession.Screenshot(page, "users-list");

            // An admin needs a password: refused, the error beside that field, nothing made.
            await page.FillAsync("form[data-test=new-user] input[name=name]", "dora");
            await page.FillAsync("form[data-test=new-user] input[name=credits]", "30");
            await page.CheckAsync("form[data-test=new-user] input[name=admin]");
            var refused = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("form[data-test=new-user] button[type=submit]"), r => r.Request.Method == "POST");
            Assert.Equal(400, refused.Status);
            Assert.Contains("required for an admin", await page.Locator("[data-field-error=password]").InnerTextAsync());
            Assert.Equal("dora", await page.InputValueAsync("form[data-test=new-user] input[name=name]"));
            Assert.Equal(0, Count("SELECT COUNT(*) FROM users WHERE name = 'dora'"));

            await page.UncheckAsync("form[data-test=new-user] input[name=admin]");
            await page.ClickAsync("form[data-test=new-user] button[type=submit]");
            var key = (await page.Locator(".secret[data-test=secret]").InnerTextAsync()).Trim();
            Assert.StartsWith("sb_", key);
            Assert.Contains("will not be shown again", await page.Locator("[data-test=new-key]").InnerTextAsync());
            Assert.DoesNotContain(key, page.Url);
            await PanelSession.Screenshot(page, "users-created");
            Assert.Equal(200, await Me(key));

            await page.ClickAsync("text=Open dora");
            Assert.Equal("30", await page.Locator("[data-test=balance]").InnerTextAsync());
            Assert.DoesNotContain(key, await page.ContentAsync());
            Assert.Contains("root", await page.Locator("table[data-test=ledger]").InnerTextAsync()); // The grant's actor.

            // The same name again: the error is beside the name field.
            await page.GotoAsync("/admin/users");
            await page.FillAsync("form[data-test=new-user] input[name=name]", "dora");
            var duplicate = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("form[data-test=new-user] button[type=submit]"), r => r.Request.Method == "POST");
            Assert.Equal(400, duplicate.Status);
            Assert.Contains("exists already", await page.Locator("[data-field-error=name]").InnerTextAsync());
            await PanelSession.Screenshot(page, "users-duplicate");

            await page.FillAsync("form[data-test=new-user] input[name=name]", "");
            // Past the browser's own checks (required, min), as a hand-made POST would be.
            await page.EvaluateAsync("document.querySelector('form[data-test=new-user]').noValidate = true");
            await page.FillAsync("form[data-test=new-user] input[name=credits]", "-4");
            await page.ClickAsync("form[data-test=new-user] button[type=submit]");
            Assert.Contains("must not be empty", await page.Locator("[data-field-error=name]").InnerTextAsync());
            Assert.Contains(">= 0", await page.Locator("[data-field-error=credits]").InnerTextAsync());
            Assert.Equal(1, Count("SELECT COUNT(*) FROM users WHERE name = 'dora'"));
        });
    }

    [Fact]
    public async Task CreditsAreGrantedAndAnAdjustmentBelowZeroChangesNothing()
    {
        var page = await Admin();
        await Chromium.Scenario(page, nameof(CreditsAreGrantedAndAnAdjustmentBelowZeroChangesNothing), async () =>
        {
            await page.GotoAsync("/admin/users");
            await page.ClickAsync("table[data-test=users] a:text-is('erin')");
            Assert.Equal("10", await page.Locator("[data-test=balance]").InnerTextAsync());

            await page.SelectOptionAsync("form[data-test=credits] select[name=kind]", "grant");
            await page.FillAsync("form[data-test=credits] input[name=amount]", "15");
            await page.FillAsync("form[data-test=credits] input[name=note]", "welcome bonus");
            await page.ClickAsync("form[data-test=credits] button[type=submit]");
            await Chromium.Arrive(page, "**/admin/users/erin?done=credits");
            Assert.Contains("Credits moved", await page.Locator(".notice").InnerTextAsync());
            Assert.Equal("25", await page.Locator("[data-test=balance]").InnerTextAsync());
            var newest = await page.Locator("table[data-test=ledger] tbody tr").First.InnerTextAsync();
            Assert.Contains("+15", newest);
            Assert.Contains("welcome bonus", newest);
            Assert.Contains("root", newest);
            Assert.Contains("25", newest); // Balance after.
            await PanelSession.Screenshot(page, "user-page");

            var rows = Count("SELECT COUNT(*) FROM ledger");
            await page.SelectOptionAsync("form[data-test=credits] select[name=kind]", "adjust");
            await page.FillAsync("form[data-test=credits] input[name=amount]", "-100");
            await page.FillAsync("form[data-test=credits] input[name=note]", "too much");
            var refused = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("form[data-test=credits] button[type=submit]"), r => r.Request.Method == "POST");
            Assert.Equal(400, refused.Status);
            Assert.Contains("below zero", await page.Locator("[data-field-error=amount]").InnerTextAsync());
            Assert.Equal("-100", await page.InputValueAsync("form[data-test=credits] input[name=amount]"));
            Assert.Equal("25", await page.Locator("[data-test=balance]").InnerTextAsync());
            await PanelSession.Screenshot(page, "user-adjust-refused");

            await page.FillAsync("form[data-test=credits] input[name=amount]", "-5");
            await page.FillAsync("form[data-test=credits] input[name=note]", "");
            await page.ClickAsync("form[data-test=credits] button[type=submit]");
            Assert.Contains("needs a note", await page.Locator("[data-field-error=note]").InnerTextAsync());
            Assert.Equal(rows, Count("SELECT COUNT(*) FROM ledger"));
        });
    }

    [Fact]
    public async Task AKeyIsShownOnceWorksAndStopsWorkingWhenRevoked()
    {
        var page = await Admin();
        await Chromium.Scenario(page, nameof(AKeyIsShownOnceWorksAndStopsWorkingWhenRevoked), async () =>
        {
            await page.GotoAsync("/admin/users/fay");
            await page.ClickAsync("form[action='/admin/users/fay/keys'] button");
            var key = (await page.Locator(".secret[data-test=secret]").InnerTextAsync()).Trim();
            Assert.Contains("will not be shown again", await page.Locator("[data-test=new-key]").InnerTextAsync());
            Assert.DoesNotContain(key, page.Url);
            await PanelSession.Screenshot(page, "user-key-created");
            Assert.Equal(200, await Me(key));

            await page.ClickAsync("text=Back to fay");
            var prefix = key[..11];
            await page.ClickAsync($"table[data-test=keys] a[href='/admin/users/fay/keys/{prefix}/revoke']");
            Assert.Contains(prefix, await page.Locator(".confirm h2").InnerTextAsync());
            await PanelSession.Screenshot(page, "user-key-revoke-confirm");
            await page.ClickAsync("[data-test=confirm]");
            await Chromium.Arrive(page, "**/admin/users/fay?done=revoked");
            Assert.Contains("Key revoked", await page.Locator(".notice").InnerTextAsync());

            await Wait.ForValue(() => Me(key), 401, TimeSpan.FromSeconds(10), "the revoked key's status on /svc/me/");
            await page.ReloadAsync();
            var html = await page.ContentAsync();
            Assert.DoesNotContain(key, html);
            Assert.DoesNotContain(key[..20], html);
            Assert.Contains("revoked", await page.Locator($"table[data-test=keys] tr:has-text('{prefix}')").InnerTextAsync());
        });
    }

    [Fact]
    public async Task AHostileUserNameIsShownAsText()
    {
        var page = await Admin();
        var dialogs = ScriptDialogs.On(page);
        await Chromium.Scenario(page, nameof(AHostileUserNameIsShownAsText), async () =>
        {
            await page.GotoAsync("/admin/users");
            var link = page.Locator("table[data-test=users] a", new PageLocatorOptions { HasTextString = UsersPanelServe.Hostile });
            Assert.Equal(UsersPanelServe.Hostile, await link.InnerTextAsync());
            Assert.Equal(0, await page.Locator("main img").CountAsync());
            await link.ClickAsync();
            Assert.Equal($"User {UsersPanelServe.Hostile}", await page.Locator("h1").InnerTextAsync());
            Assert.Equal(0, await page.Locator("main img").CountAsync());
            await PanelSession.Screenshot(page, "user-hostile");
            Assert.Equal(0, dialogs.Count);
        });
    }
}
