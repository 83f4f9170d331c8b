using System.Text;
using Microsoft.Playwright;

namespace Switchboard.Tests.Panel;

/// <summary>
/// One <c>switchboard serve</c> (SQLite) for the Requests page's bulk actions and CSV export: an
/// admin for the browser, an admin with a key (<c>ops</c>) who changes things between a
/// confirmation and its click, clients, and users whose names are markup or a spreadsheet formula.
/// </summary>
public sealed class RequestsBulkPanelServe : PanelServe
{
    public const string Formula = "=HYPERLINK(\"http://x\",\"y\")";

    protected override async Task PrepareAsync()
    {
        await AdminAndEchoCatalogAsync("""
              - {service: text, action: slow, handler: echo.render, price: 7, prompt_template: "Slowly {thing}", params: {delay_ms: 60000}}
            """,
            ("fay", 100), ("gus", 100), ("hal", 100), ("ivy", 100), (RequestsPanelServe.Hostile, 100), (RequestsPanelServe.Script, 100), (Formula, 100));
        Users["ops"] = await LegacyUsers.Create(Store, "ops", 0, admin: true);
    }
}

/// <summary>
/// The Requests page's bulk retry and cancel and its CSV export in a real browser: the
/// confirmation's count and credits against the store, one charge (retry) or refund (cancel) per
/// request, a request changed after the confirmation skipped, the CSV's rows equal to the search
/// with formulas kept as text, hostile filter values shown as text, and a bulk POST without its
/// antiforgery token refused.
/// </summary>
public sealed class RequestsBulkBrowserTests(Chromium chromium, RequestsBulkPanelServe fixture) : IClassFixture<Chromium>, IClassFixture<RequestsBulkPanelServe>
{
    private SwitchboardProcess Serve => fixture.Serve;

    private Task<IPage> Admin() => PanelSession.AdminPage(chromium, Serve, "root");

    private HttpClient Client(string user) => Serve.Client(fixture.Users[user].Key);

    private Task<string> Submit(string user, string path, object body, params string[] statuses) => fixture.Submit(user, path, body, statuses);

    private long Count(string sql, params (string, object?)[] args) => fixture.Store.Query(c => c.Scalar<long>(sql, args));

    private long Run(string id) => Count("SELECT run FROM requests WHERE id = @id", ("@id", id));

    private long Charges(string id) => Count("SELECT COUNT(*) FROM ledger WHERE request_id = @id AND kind = 'charge'", ("@id", id));

    private long Refunds(string id) => Count("SELECT COUNT(*) FROM ledger WHERE request_id = @id AND kind = 'refund'", ("@id", id));

    private static async Task<long> Number(IPage page, string test) =>
        long.Parse((await page.Locator($"[data-test={test}]").InnerTextAsync()).Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task ABulkRetryConfirmsCountAndCostThenChargesEachOnceAndSkipsOneRetriedMeanwhile()
    {
        var failed = new[]
        {
            await Submit("fay", "/svc/text/broken/", new { thing = "a" }, "failed"),
            await Submit("fay", "/svc/text/broken/", new { thing = "b" }, "failed"),
            await Submit("fay", "/svc/text/broken/", new { thing = "c" }, "failed"),
        };
        await Submit("fay", "/svc/text/shout/", new { word = "fine" }, "succeeded");
        var page = await Admin();
        await Chromium.Scenario(page, nameof(ABulkRetryConfirmsCountAndCostThenChargesEachOnceAndSkipsOneRetriedMeanwhile), async () =>
        {
            await page.GotoAsync("/admin/requests?user=fay");
            await page.ClickAsync("[data-test=bulk-retry]");
            await Chromium.Arrive(page, "**/admin/requests/bulk-retry?user=fay");
            Assert.Equal(Count("SELECT COUNT(*) FROM requests r JOIN users u ON u.id = r.user_id WHERE u.name = 'fay' AND r.status = 'failed'"), await Number(page, "bulk-count"));
            Assert.Equal(3, await Number(page, "bulk-count"));
            // The current catalog's price of text/broken (4), once per request.
            Assert.Equal(3 * 4, await Number(page, "bulk-credits"));
            Assert.Equal(3, await page.Locator("table[data-test=bulk-items] tbody tr").CountAsync());
            Assert.Equal(0, await page.Locator("[data-test=bulk-more]").CountAsync());
            Assert.All(failed, id => Assert.Equal(1, Run(id))); // Showing the confirmation changed nothing.
            await PanelSession.Screenshot(page, "requests-bulk-retry-confirm");

            // Between the confirmation and the click, another admin retries the oldest; it fails again (run 2).
            using (var ops = Client("ops"))
            {
                Assert.Equal(HttpStatusCode.Accepted, (await ops.PostAsync($"/admin/api/requests/{failed[0]}/retry", null)).StatusCode);
            }
            await Wait.Until(() => Count("SELECT COUNT(*) FROM requests WHERE id = @id AND run = 2 AND status = 'failed'", ("@id", failed[0])) == 1,
                TimeSpan.FromSeconds(20), "the other admin's retry to fail again");

            await page.ClickAsync("[data-test=confirm]");
            await Chromium.Arrive(page, "**/admin/requests?user=fay&skipped=1&refused=0&done=bulkretried&n=2");
            var notice = await page.Locator(".notice").InnerTextAsync();
            Assert.Contains("queued again (each charged again): 2.", notice);
            Assert.Contains("Skipped (changed since the confirmation): 1.", notice);
            Assert.Equal("fay", await page.InputValueAsync("form[data-test=filters] input[name=user]"));
            foreach (var id in failed)
            {
                Assert.Equal(2, Run(id)); // Never 3: the one retried meanwhile was skipped.
                Assert.Equal(2, Charges(id)); // The first run's and exactly one new.
            }
            await PanelSession.Screenshot(page, "requests-bulk-retried");
        });
    }

    [Fact]
    public async Task ABulkCancelConfirmsTheRefundThenRefundsEachOnce()
    {
        var slow = new[]
        {
            await Submit("gus", "/svc/text/slow/", new { thing = "1" }, "running", "queued"),
            await Submit("gus", "/svc/text/slow/", new { thing = "2" }, "running", "queued"),
        };
        await Submit("gus", "/svc/text/shout/", new { word = "done" }, "succeeded");
        var page = await Admin();
        await Chromium.Scenario(page, nameof(ABulkCancelConfirmsTheRefundThenRefundsEachOnce), async () =>
        {
            await page.GotoAsync("/admin/requests?user=gus");
            await page.ClickAsync("[data-test=bulk-cancel]");
            await Chromium.Arrive(page, "**/admin/requests/bulk-cancel?user=gus");
            Assert.Equal(2, await Number(page, "bulk-count"));
            Assert.Equal(Count("SELECT SUM(r.price) FROM requests r JOIN users u ON u.id = r.user_id WHERE u.name = 'gus' AND r.status IN ('queued', 'running')"),
                await Number(page, "bulk-credits"));
            await PanelSession.Screenshot(page, "requests-bulk-cancel-confirm");

            await page.ClickAsync("[data-test=confirm]");
            await Chromium.Arrive(page, "**/admin/requests?user=gus&skipped=0&refused=0&done=bulkcancelled&n=2");
            Assert.Contains("cancelled and refunded: 2.", await page.Locator(".notice").InnerTextAsync());
            foreach (var id in slow)
            {
                Assert.Equal(1, Count("SELECT COUNT(*) FROM requests WHERE id = @id AND status = 'cancelled'", ("@id", id)));
                Assert.Equal(1, Refunds(id));
            }
            Assert.Equal(100 - 5, Count("SELECT credits FROM users WHERE name = 'gus'"));

            // Nothing left to cancel: the confirmation says so and has no form.
            await page.GotoAsync("/admin/requests/bulk-cancel?user=gus");
            Assert.Equal(1, await page.Locator("[data-test=bulk-none]").CountAsync());
            Assert.Equal(0, await page.Locator("[data-test=confirm]").CountAsync());
        });
    }

    [Fact]
    public async Task TheCsvOfASearchHasItsRowsAndKeepsFormulasAndMarkupAsText()
    {
        var formula = await Submit(RequestsBulkPanelServe.Formula, "/svc/text/shout/", new { word = "x" }, "succeeded");
        var markup = await Submit(RequestsPanelServe.Script, "/svc/text/broken/", new { thing = "y" }, "failed");
        await Submit("ivy", "/svc/text/shout/", new { word = "z" }, "succeeded");
        var page = await Admin();
        await Chromium.Scenario(page, nameof(TheCsvOfASearchHasItsRowsAndKeepsFormulasAndMarkupAsText), async () =>
        {
            await page.GotoAsync("/admin/requests?status=succeeded");
            Assert.Equal(0, await page.Locator("[data-test=bulk-retry]").CountAsync()); // No failed request can match.
            var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("[data-test=csv]"));
            Assert.EndsWith(".csv", download.SuggestedFilename, StringComparison.Ordinal);
            var rows = CsvRecords.Parse(await File.ReadAllTextAsync((await download.PathAsync())!, Encoding.UTF8));
            Assert.Equal(["id", "kind", "offer_or_deal", "user", "status", "price", "attempts", "run", "created_utc", "started_utc", "finished_utc", "error_code"], rows[0]);

            using var ops = Client("ops");
            var search = (await ops.GetFromJsonAsync<JsonObject>("/admin/api/requests?status=succeeded&limit=500"))!["requests"]!.AsArray();
            Assert.Equal(search.Select(r => r!["id"]!.GetValue<string>()), rows.Skip(1).Select(r => r[0]));
            Assert.Equal(search.Select(r => r!["user"]!.GetValue<string>() is var u && u.StartsWith('=') ? "'" + u : u), rows.Skip(1).Select(r => r[3]));
            var row = rows.Single(r => r[0] == formula);
            Assert.Equal("'" + RequestsBulkPanelServe.Formula, row[3]); // A spreadsheet shows it, never runs it.
            Assert.Equal(["offer", "text/shout", "succeeded", "5"], row[1..3].Append(row[4]).Append(row[5]));
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", row[10]);

            // The same file over HTTP: its type and name; and a failed one's error code, a markup name as it is.
            var response = await page.Context.APIRequest.GetAsync($"/admin/requests.csv?user={Uri.EscapeDataString(RequestsPanelServe.Script)}");
            Assert.Equal(200, response.Status);
            Assert.Equal("text/csv; charset=utf-8", response.Headers["content-type"]);
            Assert.StartsWith("attachment; filename=\"requests-", response.Headers["content-disposition"], StringComparison.Ordinal);
            var own = CsvRecords.Parse(await response.TextAsync());
            Assert.Equal([markup], own.Skip(1).Select(r => r[0]));
            Assert.Equal(RequestsPanelServe.Script, own[1][3]);
            Assert.Equal("echo_failed", own[1][11]);

            var bad = await page.Context.APIRequest.GetAsync("/admin/requests.csv?offer=noslash");
            Assert.Equal(400, bad.Status);
            Assert.Contains("offer must be service/action", await bad.TextAsync());
        });
    }

    [Fact]
    public async Task HostileValuesInTheFiltersAndTheConfirmationAreShownAsText()
    {
        await Submit(RequestsPanelServe.Hostile, "/svc/text/broken/", new { thing = RequestsPanelServe.Script }, "failed");
        var page = await Admin();
        var dialogs = ScriptDialogs.On(page);
        await Chromium.Scenario(page, nameof(HostileValuesInTheFiltersAndTheConfirmationAreShownAsText), async () =>
        {
            var hostile = Uri.EscapeDataString(RequestsPanelServe.Hostile);
            var response = await page.GotoAsync($"/admin/requests?user={hostile}&offer={hostile}&deal={Uri.EscapeDataString(RequestsPanelServe.Script)}");
            Assert.Equal(400, response!.Status);
            Assert.Contains("offer must be service/action", await page.Locator("[data-test=filter-errors]").InnerTextAsync());
            Assert.Equal(RequestsPanelServe.Hostile, await page.InputValueAsync("form[data-test=filters] input[name=offer]"));
            Assert.Equal(RequestsPanelServe.Script, await page.InputValueAsync("form[data-test=filters] input[name=deal]"));
            Assert.Equal(0, await page.Locator("[data-test=bulk]").CountAsync()); // No bulk action on a filter that does not parse.

            response = await page.GotoAsync($"/admin/requests/bulk-cancel?user={hostile}&offer={hostile}");
            Assert.Equal(400, response!.Status);
            Assert.Contains("offer must be service/action", await page.Locator("[data-test=filter-errors]").InnerTextAsync());
            Assert.Equal(0, await page.Locator("[data-test=confirm]").CountAsync());

            await page.GotoAsync($"/admin/requests/bulk-retry?user={hostile}");
            Assert.Equal(1, await Number(page, "bulk-count"));
            Assert.Contains(RequestsPanelServe.Hostile, await page.Locator("table[data-test=bulk-items]").InnerTextAsync());
            Assert.Equal(0, await page.Locator("main img, main script").CountAsync());
            await PanelSession.Screenshot(page, "requests-bulk-hostile");
            Assert.Equal(0, dialogs.Count);
        });
    }

    [Fact]
    public async Task ABulkPostWithoutItsAntiforgeryTokenChangesNothing()
    {
        var id = await Submit("hal", "/svc/text/broken/", new { thing = "kept" }, "failed");
        var page = await Admin();
        await Chromium.Scenario(page, nameof(ABulkPostWithoutItsAntiforgeryTokenChangesNothing), async () =>
        {
            // The admin's session cookie goes along; the form's token does not.
            var form = page.Context.APIRequest.CreateFormData();
            form.Set("confirm", "yes");
            form.Set("items", $"{id}:1");
            var response = await page.Context.APIRequest.PostAsync("/admin/requests/bulk-retry?user=hal", new() { Form = form, MaxRedirects = 0 });
            Assert.Equal(400, response.Status);
            Assert.Contains("nothing was changed", await response.TextAsync());
            Assert.Equal(1, Run(id));
            Assert.Equal(1, Charges(id));
        });
    }
}
