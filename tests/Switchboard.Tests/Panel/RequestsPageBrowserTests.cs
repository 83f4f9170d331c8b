using Microsoft.Playwright;

namespace Switchboard.Tests.Panel;

/// <summary>
/// One <c>switchboard serve</c> (SQLite) for the Requests page's browser tests: an admin, clients
/// with keys, and a catalog whose handler names the resource <c>gate</c> (not in the resource
/// map at first, so nothing waits; a test gives it a budget of 0 to keep a request queued).
/// </summary>
public sealed class RequestsPanelServe : PanelServe
{
    public const string Hostile = "<img src=x onerror=alert(1)>";
    public const string Script = "<script>alert(2)</script>";

    protected override async Task PrepareAsync()
    {
        await PanelSession.CreateAdmin(Store, "root");
        await Infrastructure.Cli.ApplyCatalog(Store, """
            handlers:
              - {id: echo.render, credits: 1, resource: gate}
            offers:
              - {service: text, action: shout, handler: echo.render, price: 5, prompt_template: "Say {word}"}
              - {service: text, action: broken, handler: echo.render, price: 4, prompt_template: "Never {thing}", params: {fail: "the model is on strike"}}
            deals:
              - name: pair
                offers:
                  - {offer: text/shout}
                  - {offer: text/broken}
            """);
        foreach (var name in new[] { "dana", "eve", Hostile })
        {
            // The hostile name is refused as a new name now (UserNames): kept as a stored name from before the rules.
            Users[name] = name == Hostile ? await LegacyUsers.Create(Store, name, 1_000) : await Infrastructure.Cli.CreateUser(Store, name, 1_000);
        }
    }
}

/// <summary>
/// The Requests page in a real browser: requests made through <c>/svc</c> with API keys, filtered
/// by status and user, a failed one opened (its error, its charge and refund), retried (run 2,
/// charged again) and a queued one cancelled (refunded), each through its confirmation page; and
/// a hostile user name and input shown as text.
/// </summary>
public sealed class RequestsPageBrowserTests(Chromium chromium, RequestsPanelServe fixture) : IClassFixture<Chromium>, IClassFixture<RequestsPanelServe>
{
    private SwitchboardProcess Serve => fixture.Serve;

    private Task<IPage> Admin() => PanelSession.AdminPage(chromium, Serve, "root");

    private Task<string> Submit(string user, string path, object body, params string[] statuses) => fixture.Submit(user, path, body, statuses);

    private long Count(string sql, params (string, object?)[] args) => fixture.Store.Query(c => c.Scalar<long>(sql, args));

    private static async Task<List<string>> Rows(IPage page) => [.. await page.Locator("table[data-test=requests] tbody tr").AllInnerTextsAsync()];

    [Fact]
    public async Task AFailedRequestIsFoundRetriedAndAQueuedOneCancelled()
    {
        await Submit("dana", "/svc/text/shout/", new { word = "hello" }, "succeeded");
        await Submit("dana", "/svc/text/broken/", new { thing = "b" }, "failed");
        var failed = await Submit("dana", "/svc/text/broken/", new { thing = "c" }, "failed");
        await Submit("eve", "/svc/text/broken/", new { thing = "z" }, "failed");
        var page = await Admin();
        await Chromium.Scenario(page, nameof(AFailedRequestIsFoundRetriedAndAQueuedOneCancelled), async () =>
        {
            await page.GotoAsync("/admin/requests");
            Assert.Equal("Requests", await page.Locator(".nav-item.active").InnerTextAsync());
            Assert.True((await Rows(page)).Count >= 4);
            Assert.Contains("UTC", await page.Locator("form[data-test=filters]").InnerTextAsync());
            await PanelSession.Screenshot(page, "requests-list");

            await page.SelectOptionAsync("form[data-test=filters] select[name=status]", "failed");
            await page.ClickAsync("form[data-test=filters] button[type=submit]");
            await Chromium.Arrive(page, "**/admin/requests?status=failed*");
            var rows = await Rows(page);
            Assert.True(rows.Count >= 3);
            Assert.All(rows, r => Assert.Contains("failed", r));

            await page.FillAsync("form[data-test=filters] input[name=user]", "dana");
            await page.ClickAsync("form[data-test=filters] button[type=submit]");
            await Chromium.Arrive(page, "**user=dana*");
            rows = await Rows(page);
            Assert.Equal(2, rows.Count);
            Assert.All(rows, r => Assert.Contains("dana", r));
            Assert.Contains(failed[..12], rows[0]); // Newest first.
            await PanelSession.Screenshot(page, "requests-filtered");

            await page.ClickAsync($"table[data-test=requests] a[href='/admin/requests/{failed}']");
            Assert.Contains("echo_failed", await page.Locator("[data-test=error]").InnerTextAsync());
            Assert.Contains("the model is on strike", await page.Locator("[data-test=error]").InnerTextAsync());
            Assert.Contains("\"thing\": \"c\"", await page.Locator("pre[data-test=inputs]").InnerTextAsync());
            var ledger = await page.Locator("table[data-test=ledger] tbody tr").AllInnerTextsAsync();
            Assert.Equal(2, ledger.Count);
            Assert.Contains("charge", ledger[0]);
            Assert.Contains("-4", ledger[0]);
            Assert.Contains("refund", ledger[1]);
            Assert.Contains("+4", ledger[1]);
            await PanelSession.Screenshot(page, "request-failed");

            await page.ClickAsync("[data-test=retry]");
            Assert.Contains("charge", await page.Locator(".confirm").InnerTextAsync());
            await PanelSession.Screenshot(page, "request-retry-confirm");
            await page.ClickAsync("[data-test=confirm]");
            await Chromium.Arrive(page, $"**/admin/requests/{failed}?done=retried");
            Assert.Contains("Queued again", await page.Locator(".notice").InnerTextAsync());
            Assert.Equal("2", await page.Locator("[data-test=run]").InnerTextAsync());
            ledger = await page.Locator("table[data-test=ledger] tbody tr").AllInnerTextsAsync();
            Assert.Equal(2, ledger.Count(r => r.Contains("charge", StringComparison.Ordinal)));
            Assert.Equal(2, Count("SELECT COUNT(*) FROM ledger WHERE request_id = @r AND kind = 'charge'", ("@r", failed)));
            await PanelSession.Screenshot(page, "request-retried");

            // A budget of 0 for the handler's resource: new jobs wait in its lane, queued.
            var resources = Path.Combine(fixture.Store.Path, "resources.yaml");
            await File.WriteAllTextAsync(resources, "resource_map:\n  gate: {credits: 0}\n");
            var (exit, _, error) = await Infrastructure.Cli.Run(fixture.Store, "config", "push", resources, "--id", "resource_map");
            Assert.True(exit == 0, error);
            var queued = await Parked("dana");
            var balance = Count("SELECT credits FROM users WHERE name = 'dana'");

            await page.GotoAsync($"/admin/requests/{queued}");
            Assert.Contains("queued", await page.Locator("[data-test=status]").InnerTextAsync());
            await page.ClickAsync("text=Cancel request");
            Assert.Contains("credits back", await page.Locator(".confirm").InnerTextAsync());
            await PanelSession.Screenshot(page, "request-cancel-confirm");
            await page.ClickAsync("[data-test=confirm]");
            await Chromium.Arrive(page, $"**/admin/requests/{queued}?done=cancelled");
            Assert.Contains("Cancelled and refunded", await page.Locator(".notice").InnerTextAsync());
            Assert.Contains("cancelled", await page.Locator("[data-test=status]").InnerTextAsync());
            Assert.Contains("refund", await page.Locator("table[data-test=ledger]").InnerTextAsync());
            Assert.Equal(balance + 5, Count("SELECT credits FROM users WHERE name = 'dana'"));
            await PanelSession.Screenshot(page, "request-cancelled");
        });
    }

    /// <summary>Submits until a request waits in the gate's lane (the new resource map reaches serve within a poll).</summary>
    private async Task<string> Parked(string user)
    {
        using var client = Serve.Client(fixture.Users[user].Key);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        for (var n = 0; ; n++)
        {
            var id = await Submit(user, "/svc/text/shout/", new { word = $"wait {n}" });
            var request = await Wait.For(() => SwitchboardFactory.Get(client, id),
                r => r["queue_position"] is not null || r["status"]!.GetValue<string>() is not ("queued" or "running"),
                TimeSpan.FromSeconds(20), $"request {id} to wait in the lane or end");
            if (request["queue_position"] is not null)
            {
                return id;
            }
            Assert.True(DateTime.UtcNow < deadline, "no request waited for the resource");
            // Not a wait: a pause so that the tries until serve's next config poll spend a few
            // of the user's credits, not all of them (each try that runs is charged).
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task ADealIsShownWithItsStepsAndTheirRefunds()
    {
        var id = await Submit("eve", "/svc/deal/pair/", new { inputs = new { word = "hi", thing = "x" } });
        var page = await Admin();
        await Chromium.Scenario(page, nameof(ADealIsShownWithItsStepsAndTheirRefunds), async () =>
        {
            await page.GotoAsync("/admin/requests?deal=pair");
            var rows = await Rows(page);
            Assert.Single(rows);
            Assert.Contains("pair", rows[0]);
            await page.ClickAsync($"table[data-test=requests] a[href='/admin/requests/{id}']");
            var steps = await page.Locator("table[data-test=steps] tbody tr").AllInnerTextsAsync();
            Assert.Equal(2, steps.Count);
            Assert.Contains("text/shout", steps[0]);
            Assert.Contains("text/broken", steps[1]);
            Assert.Contains("charge", await page.Locator("table[data-test=ledger]").InnerTextAsync());
            await PanelSession.Screenshot(page, "request-deal");
        });
    }

    [Fact]
    public async Task AHostileUserNameAndInputAreShownAsText()
    {
        var id = await Submit(RequestsPanelServe.Hostile, "/svc/text/shout/", new { word = RequestsPanelServe.Script });
        var page = await Admin();
        var dialogs = ScriptDialogs.On(page);
        await Chromium.Scenario(page, nameof(AHostileUserNameAndInputAreShownAsText), async () =>
        {
            await page.GotoAsync($"/admin/requests?user={Uri.EscapeDataString(RequestsPanelServe.Hostile)}");
            var rows = await Rows(page);
            Assert.Single(rows);
            Assert.Contains(RequestsPanelServe.Hostile, rows[0]);
            Assert.Equal(RequestsPanelServe.Hostile, await page.InputValueAsync("form[data-test=filters] input[name=user]"));
            Assert.Equal(0, await page.Locator("main img").CountAsync());

            await page.ClickAsync($"table[data-test=requests] a[href='/admin/requests/{id}']");
            Assert.Contains(RequestsPanelServe.Script, await page.Locator("pre[data-test=inputs]").InnerTextAsync());
            Assert.Contains(RequestsPanelServe.Hostile, await page.Locator("dl[data-test=request]").InnerTextAsync());
            Assert.Equal(0, await page.Locator("main script, main img").CountAsync());
            await PanelSession.Screenshot(page, "request-hostile");

            await page.GotoAsync("/admin/users");
            Assert.Equal(0, await page.Locator("main img").CountAsync());
            Assert.Equal(0, dialogs.Count);
        });
    }
}
