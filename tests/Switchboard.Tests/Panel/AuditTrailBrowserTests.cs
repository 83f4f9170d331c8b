using System.Globalization;
using System.Net.Http.Json;
using Switchboard.Audit;

namespace Switchboard.Tests.Panel;

/// <summary>
/// One <c>switchboard serve</c> (SQLite) for the audit trail's browser tests: the admin root (with
/// an API key) and bob, both made by the operator through the CLI.
/// </summary>
public sealed class AuditPanelServe : PanelServe
{
    public string RootKey { get; private set; } = "";

    protected override async Task PrepareAsync()
    {
        var root = await App.CliJsonAsync("users", "create", "root", "--admin", "--password", PanelSession.Password, "--actor", "operator");
        RootKey = root["api_key"]!.GetValue<string>();
        await App.CliJsonAsync("users", "create", "bob", "--actor", "operator");
    }
}

/// <summary>
/// The audit trail page in a real browser against <c>switchboard serve</c>, seeded by real
/// actions (the admin API, the panel, the CLI): each filter shows exactly the rows the store has
/// for it, newest first; a bad filter is answered 400 with the message beside its field; recorded
/// values and typed filters are shown as text.
/// </summary>
public sealed class AuditTrailBrowserTests(Chromium chromium, AuditPanelServe fixture) : IClassFixture<Chromium>, IClassFixture<AuditPanelServe>
{
    private const string Hostile = "<img src=x onerror=alert(1)>";

    private SwitchboardProcess Serve => fixture.Serve;

    private List<AuditEntry> Stored(AuditFilter filter) => fixture.Store.Query(c => AuditLog.Read(c, filter with { Limit = AuditLog.MaxLimit }));

    private static async Task<List<long>> Shown(Microsoft.Playwright.IPage page) =>
        [.. (await page.Locator("table[data-test=audit] tbody tr[data-audit]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.audit)"))
            .Select(id => long.Parse(id, CultureInfo.InvariantCulture))];

    [Fact]
    public async Task TheFiltersShowExactlyTheMatchingRowsNewestFirst()
    {
        using var api = Serve.Client(fixture.RootKey);
        Assert.Equal(201, (int)(await api.PostAsJsonAsync("/admin/api/users", new { name = "carol", credits = 5 })).StatusCode);
        Assert.Equal(200, (int)(await api.PostAsJsonAsync("/admin/api/users/carol/credits", new { kind = "grant", amount = 7, note = Hostile })).StatusCode);
        var page = await PanelSession.AdminPage(chromium, Serve, "root");
        var dialogs = ScriptDialogs.On(page);
        await Chromium.Scenario(page, nameof(TheFiltersShowExactlyTheMatchingRowsNewestFirst), async () =>
        {
            // A panel action too: a config pushed from its page.
            await page.GotoAsync("/admin/configs/resource_map");
            await page.FillAsync("textarea[name=yaml]", "gpu: {max_concurrent: 2}\n");
            await page.ClickAsync("[data-test=push]");
            Assert.Contains("Pushed", await page.Locator(".notice").InnerTextAsync());

            await page.ClickAsync(".sidebar >> text=Audit trail");
            await Chromium.Arrive(page, "**/admin/audit");
            var all = Stored(new AuditFilter());
            Assert.True(all.Count >= 5, $"{all.Count} rows");
            Assert.Equal(all.Select(e => e.Id), await Shown(page));
            Assert.Equal("Audit trail", await page.Locator(".nav-sub.active").InnerTextAsync());
            await PanelSession.Screenshot(page, "audit");

            // By actor, through the form.
            await page.FillAsync("input[name=actor]", "operator");
            await page.ClickAsync("[data-test=audit-filters] button[type=submit]");
            var byOperator = Stored(new AuditFilter(Actor: "operator"));
            Assert.Equal(2, byOperator.Count);
            Assert.All(byOperator, e => Assert.Equal(AuditLog.Cli, e.Channel));
            Assert.Equal(byOperator.Select(e => e.Id), await Shown(page));
            Assert.Equal("operator", await page.InputValueAsync("input[name=actor]"));

            // By actor and channel's action: the panel's push, by root.
            await page.GotoAsync("/admin/audit?actor=root&action=" + Uri.EscapeDataString("POST /admin/configs/{id}/push"));
            var pushes = Stored(new AuditFilter(Actor: "root", Action: "POST /admin/configs/{id}/push"));
            Assert.Single(pushes);
            Assert.Equal(AuditLog.Panel, pushes[0].Channel);
            Assert.Equal(pushes.Select(e => e.Id), await Shown(page));
            Assert.Contains("resource_map", await page.Locator("tr[data-audit]").InnerTextAsync());

            // The credits move: its note, hostile, shown as text in the details.
            await page.GotoAsync("/admin/audit?action=" + Uri.EscapeDataString("POST /admin/api/users/{name}/credits"));
            Assert.Single(await Shown(page));
            // As stored: JSON, whose writer escapes < and >; the rest shows as text.
            Assert.Contains("img src=x onerror", await page.Locator("tr[data-audit] .details").InnerTextAsync());
            Assert.Equal(0, await page.Locator("tr[data-audit] .details img").CountAsync());

            // A time range (UTC), from one row's time to another's: the store's rows in it.
            var ordered = all.OrderBy(e => e.Id).ToList();
            var (from, to) = (ordered[1].At, ordered[^1].At);
            string Iso(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            await page.GotoAsync($"/admin/audit?since={Iso(from)}&until={Iso(to)}");
            var inRange = Stored(new AuditFilter(SinceMs: from, UntilMs: to));
            Assert.NotEmpty(inRange);
            Assert.Equal(inRange.Select(e => e.Id), await Shown(page));
            await page.GotoAsync($"/admin/audit?since={Iso(to + 60_000)}");
            Assert.Empty(await Shown(page));
            Assert.Contains("No entry matches", await page.Locator("table[data-test=audit] tbody").InnerTextAsync());

            // A typed filter shown back as text; no row has such an actor.
            await page.GotoAsync("/admin/audit?actor=" + Uri.EscapeDataString("<script>alert(1)</script>"));
            Assert.Equal("<script>alert(1)</script>", await page.InputValueAsync("input[name=actor]"));
            Assert.Empty(await Shown(page));
            Assert.Equal(0, dialogs.Count);
        });
    }

    [Fact]
    public async Task ABadTimeFilterIsAnswered400WithTheMessageBesideItsField()
    {
        var page = await PanelSession.AdminPage(chromium, Serve, "root");
        var dialogs = ScriptDialogs.On(page);
        await Chromium.Scenario(page, nameof(ABadTimeFilterIsAnswered400WithTheMessageBesideItsField), async () =>
        {
            var response = await page.GotoAsync("/admin/audit?since=yesterday&until=" + Uri.EscapeDataString(Hostile));
            Assert.Equal(400, response!.Status);
            Assert.Contains(AuditQuery.TimeHelp, await page.Locator("[data-field-error=since]").InnerTextAsync());
            Assert.Contains(AuditQuery.TimeHelp, await page.Locator("[data-field-error=until]").InnerTextAsync());
            Assert.Equal(Hostile, await page.InputValueAsync("input[name=until]"));
            Assert.Empty(await Shown(page));
            Assert.Equal(0, dialogs.Count);
            await PanelSession.Screenshot(page, "audit-bad-filter");
        });
    }
}
