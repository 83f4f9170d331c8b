using Microsoft.Playwright;

namespace Switchboard.Tests.Panel;

/// <summary>
/// One <c>switchboard serve</c> (SQLite) for the Spend page's browser tests: an admin, users with
/// keys (one with a hostile name from before the name rules), and a catalog with an offer that
/// succeeds and one that fails (charged, then refunded).
/// </summary>
public sealed class SpendPanelServe : PanelServe
{
    public const string Hostile = "<img src=x onerror=alert(1)>";

    protected override Task PrepareAsync() => AdminAndEchoCatalogAsync("", ("dana", 100), ("eve", 100), (Hostile, 100));
}

/// <summary>
/// The Spend page in a real browser: requests made through <c>/svc</c> with API keys (charged;
/// the failed one refunded), one of them moved three days back; the page's numbers per user and
/// per offer equal the ledger's sums over the last 24 h and the last 7 d, an unknown range is
/// refused with 400, and a hostile user name shows as text.
/// </summary>
public sealed class SpendPageBrowserTests(Chromium chromium, SpendPanelServe fixture) : IClassFixture<Chromium>, IClassFixture<SpendPanelServe>
{
    private const long Day = 86_400_000;

    private SwitchboardProcess Serve => fixture.Serve;

    private Task<string> Submit(string user, string path, object body, params string[] statuses) => fixture.Submit(user, path, body, statuses);

    /// <summary>What the ledger says a user spent since <paramref name="since"/>: charges minus refunds.</summary>
    private long Spent(string user, long since) => fixture.Store.Query(c => c.Scalar<long>(
        "SELECT COALESCE(-SUM(amount), 0) FROM ledger WHERE user_id = @u AND kind IN ('charge', 'refund') AND created_at >= @since",
        ("@u", fixture.Users[user].Id), ("@since", since)));

    private long OfferSpent(string service, string action, long since) => fixture.Store.Query(c => c.Scalar<long>(
        """
        SELECT COALESCE(-SUM(l.amount), 0) FROM ledger l JOIN requests r ON r.seq = l.request_seq
        WHERE r.service = @s AND r.action = @a AND l.kind IN ('charge', 'refund') AND l.created_at >= @since
        """,
        ("@s", service), ("@a", action), ("@since", since)));

    /// <summary>A cell of a user's row (by name) or an offer's (by service/action); checks the row shows that name.</summary>
    private async Task<string> Cell(IPage page, string table, string name, int column)
    {
        var key = table == "spend-users" ? fixture.Users[name].Id : name;
        var row = page.Locator($"table[data-test={table}] tbody tr[data-key='{key}']");
        Assert.Equal(name, (await row.Locator("td").First.InnerTextAsync()).Trim());
        return (await row.Locator($"td:nth-child({column})").InnerTextAsync()).Trim();
    }

    [Fact]
    public async Task TheNumbersOfEachRangeAreTheLedgersSums()
    {
        await Submit("dana", "/svc/text/shout/", new { word = "a" }, "succeeded");
        await Submit("dana", "/svc/text/shout/", new { word = "b" }, "succeeded");
        var old = await Submit("eve", "/svc/text/shout/", new { word = "c" }, "succeeded");
        await Submit("eve", "/svc/text/broken/", new { thing = "d" }, "failed");
        await Submit(SpendPanelServe.Hostile, "/svc/text/shout/", new { word = "e" }, "succeeded");
        // Eve's first request was charged three days ago: in the 7 d range, not in the 24 h one.
        fixture.Store.Store.Write(c => c.Execute("UPDATE ledger SET created_at = created_at - @d WHERE request_id = @id", ("@d", 3 * Day), ("@id", old)));
        var recent = Clock.NowMs() - Day / 2; // Every other ledger row is younger than this.
        var week = Clock.NowMs() - 6 * Day;

        var page = await PanelSession.AdminPage(chromium, Serve, "root");
        var dialogs = ScriptDialogs.On(page);
        await Chromium.Scenario(page, nameof(TheNumbersOfEachRangeAreTheLedgersSums), async () =>
        {
            await page.GotoAsync("/admin/spend");
            Assert.Equal("Spend", await page.Locator(".nav-sub.active").InnerTextAsync());
            foreach (var user in new[] { "dana", "eve", SpendPanelServe.Hostile })
            {
                Assert.Equal(Spent(user, recent).ToString(System.Globalization.CultureInfo.InvariantCulture), await Cell(page, "spend-users", user, 2));
            }
            Assert.Equal("0", await Cell(page, "spend-users", "eve", 2)); // Broken: charged 4, refunded 4.
            Assert.Equal("1", await Cell(page, "spend-users", "eve", 3));
            Assert.Equal(OfferSpent("text", "shout", recent).ToString(System.Globalization.CultureInfo.InvariantCulture), await Cell(page, "spend-offers", "text/shout", 2));
            Assert.Equal("15", await Cell(page, "spend-offers", "text/shout", 2));
            Assert.Equal("0", await Cell(page, "spend-offers", "text/broken", 2));
            Assert.Equal("3", await Cell(page, "spend-offers", "text/shout", 3));
            Assert.Contains("15", await page.Locator(".spend-tiles .tile").First.InnerTextAsync());
            Assert.Equal("66.7%", await Cell(page, "spend-users", "dana", 4));
            Assert.True(await page.Locator("svg.chart rect.s0").CountAsync() > 0, "the chart stacks the top user");
            Assert.Contains(SpendPanelServe.Hostile, await page.Locator("[data-test=legend]").InnerTextAsync());
            await PanelSession.Screenshot(page, "spend-24h");

            await page.ClickAsync("[data-test=ranges] a:text-is('7d')");
            await Chromium.Arrive(page, "**/admin/spend?range=7d");
            foreach (var user in new[] { "dana", "eve", SpendPanelServe.Hostile })
            {
                Assert.Equal(Spent(user, week).ToString(System.Globalization.CultureInfo.InvariantCulture), await Cell(page, "spend-users", user, 2));
            }
            Assert.Equal("5", await Cell(page, "spend-users", "eve", 2));
            Assert.Equal(OfferSpent("text", "shout", week).ToString(System.Globalization.CultureInfo.InvariantCulture), await Cell(page, "spend-offers", "text/shout", 2));
            Assert.Equal("20", await Cell(page, "spend-offers", "text/shout", 2));
            await PanelSession.Screenshot(page, "spend-7d");
            Assert.Equal(0, dialogs.Count);
        });
    }

    [Fact]
    public async Task AnUnknownRangeIsRefusedWith400()
    {
        var page = await PanelSession.AdminPage(chromium, Serve, "root");
        await Chromium.Scenario(page, nameof(AnUnknownRangeIsRefusedWith400), async () =>
        {
            var response = await page.GotoAsync("/admin/spend?range=1y");
            Assert.Equal(400, response!.Status);
            Assert.Contains("Unknown range", await page.Locator("[data-test=range-error]").InnerTextAsync());
            Assert.Equal(0, await page.Locator("table[data-test=spend-users]").CountAsync());
            await page.ClickAsync("[data-test=ranges] a:text-is('30d')");
            await Chromium.Arrive(page, "**/admin/spend?range=30d");
            Assert.Equal(1, await page.Locator("table[data-test=spend-users]").CountAsync());
        });
    }
}
