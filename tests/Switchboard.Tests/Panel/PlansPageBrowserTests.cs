using Microsoft.Playwright;

namespace Switchboard.Tests.Panel;

/// <summary>One <c>switchboard serve</c> (SQLite) for the Plans page's browser test: an admin and a user to put on a plan.</summary>
public sealed class PlansPanelServe : PanelServe
{
    protected override async Task PrepareAsync()
    {
        await PanelSession.CreateAdmin(Store, "root");
        await Infrastructure.Cli.CreateUser(Store, "gil", 10);
    }
}

/// <summary>
/// Plans, a user's scheduling and a key's limits managed in a real browser, through the rules the
/// admin API runs (Plans, KeySettings): a plan added (a weight of 0 refused first, nothing written),
/// a user put on it, a key made with a scope, a budget and an expiry (a bad scope and a bad expiry
/// refused first, no key made), and the plan kept while the user is on it.
/// </summary>
public sealed class PlansPageBrowserTests(Chromium chromium, PlansPanelServe fixture) : IClassFixture<Chromium>, IClassFixture<PlansPanelServe>
{
    private long Count(string sql, params (string, object?)[] args) => fixture.Store.Query(c => c.Scalar<long>(sql, args));

    private string? Text(string sql, params (string, object?)[] args) => fixture.Store.Query(c => c.Scalar<string?>(sql, args));

    private static Task<IResponse> Post(IPage page, string form) =>
        page.RunAndWaitForResponseAsync(() => page.ClickAsync($"form[data-test={form}] button[type=submit]"), r => r.Request.Method == "POST");

    [Fact]
    public async Task APlanAUsersSchedulingAndAKeysLimitsAreSetInThePanel()
    {
        var page = await PanelSession.AdminPage(chromium, fixture.Serve, "root");
        await Chromium.Scenario(page, nameof(APlanAUsersSchedulingAndAKeysLimitsAreSetInThePanel), async () =>
        {
            await page.GotoAsync("/admin/plans");
            Assert.Equal("Plans", await page.Locator(".nav-item.active").InnerTextAsync());

            // A weight of 0: refused beside the field, the input kept, no plan written.
            await page.FillAsync("form[data-test=plan-form] input[name=name]", "gold");
            await page.FillAsync("form[data-test=plan-form] input[name=weight]", "0");
            Assert.Equal(400, (await Post(page, "plan-form")).Status);
            Assert.Contains("1 to 1000", await page.Locator("[data-field-error=weight]").InnerTextAsync());
            Assert.Equal("gold", await page.InputValueAsync("form[data-test=plan-form] input[name=name]"));
            Assert.Equal(0, Count("SELECT COUNT(*) FROM plans"));

            await page.FillAsync("form[data-test=plan-form] input[name=weight]", "5");
            await page.FillAsync("form[data-test=plan-form] input[name=max_priority]", "7");
            await page.FillAsync("form[data-test=plan-form] input[name=key_budget]", "100");
            await page.SelectOptionAsync("form[data-test=plan-form] select[name=key_budget_period]", "month");
            await page.ClickAsync("form[data-test=plan-form] button[type=submit]");
            await Chromium.Arrive(page, "**/admin/plans/gold?done=created");
            Assert.Equal(1, Count("SELECT COUNT(*) FROM plans WHERE name = 'gold' AND weight = 5 AND max_priority = 7 AND priority IS NULL AND key_budget = 100 AND key_budget_period = 'month'"));
            await PanelSession.Screenshot(page, "plan-edit");

            // The user on the plan, with its own priority.
            await page.GotoAsync("/admin/users/gil");
            await page.SelectOptionAsync("form[data-test=scheduling-form] select[name=plan]", "gold");
            await page.FillAsync("form[data-test=scheduling-form] input[name=priority]", "6");
            await page.ClickAsync("form[data-test=scheduling-form] button[type=submit]");
            await Chromium.Arrive(page, "**/admin/users/gil?done=saved");
            Assert.Equal(1, Count("SELECT COUNT(*) FROM users WHERE name = 'gil' AND plan = 'gold' AND priority = 6 AND weight IS NULL"));

            // A bad scope and a bad expiry: both shown, no key made.
            var keys = Count("SELECT COUNT(*) FROM api_keys");
            await page.FillAsync("form[data-test=key-form] input[name=name]", "ci");
            await page.FillAsync("form[data-test=key-form] textarea[name=scopes]", "text/*\nbad scope!");
            await page.FillAsync("form[data-test=key-form] input[name=expires]", "someday");
            await page.FillAsync("form[data-test=key-form] input[name=budget]", "50");
            await page.SelectOptionAsync("form[data-test=key-form] select[name=budget_period]", "day");
            Assert.Equal(400, (await Post(page, "key-form")).Status);
            Assert.Contains("may hold only", await page.Locator("[data-field-error=scopes]").InnerTextAsync());
            Assert.Contains("duration", await page.Locator("[data-field-error=expires]").InnerTextAsync());
            Assert.Equal(keys, Count("SELECT COUNT(*) FROM api_keys"));

            await page.FillAsync("form[data-test=key-form] textarea[name=scopes]", "text/*");
            await page.FillAsync("form[data-test=key-form] input[name=expires]", "30d");
            await page.ClickAsync("form[data-test=key-form] button[type=submit]");
            var key = (await page.Locator(".secret[data-test=secret]").InnerTextAsync()).Trim();
            var prefix = key[..11];
            Assert.Equal(1, Count("SELECT COUNT(*) FROM api_keys WHERE prefix = @p AND name = 'ci' AND budget = 50 AND budget_period = 'day' AND rpm IS NULL AND expires_at > @now",
                ("@p", prefix), ("@now", Clock.NowMs() + (29L * 86_400_000))));
            Assert.Equal(["text/*"], System.Text.Json.JsonSerializer.Deserialize<string[]>(Text("SELECT scopes FROM api_keys WHERE prefix = @p", ("@p", prefix))!)!);

            // The user still has the plan: removing it is refused, the plan kept.
            await page.GotoAsync("/admin/plans");
            Assert.Equal("1", await page.Locator("tr[data-plan=gold] [data-test=users]").InnerTextAsync());
            await page.GotoAsync("/admin/plans/gold/remove");
            Assert.Contains("1 user(s) are on it", await page.Locator("[data-test=in-use]").InnerTextAsync());
            Assert.Equal(1, Count("SELECT COUNT(*) FROM plans"));
        });
    }
}
