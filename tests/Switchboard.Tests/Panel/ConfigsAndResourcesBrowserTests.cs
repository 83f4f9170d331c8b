using Microsoft.Playwright;
using Switchboard.Config;

namespace Switchboard.Tests.Panel;

/// <summary>
/// The Configs and Resources pages in a real browser against <c>switchboard serve</c>: versions
/// with author and comment, a diff that never shows a secret, a rollback through its
/// confirmation, and a resource's slots, calls and budget after requests ran on it.
/// </summary>
public sealed class ConfigsAndResourcesBrowserTests(Chromium chromium) : AppTests, IClassFixture<Chromium>
{
    private const string SecretOne = "sk-first-secret";
    private const string SecretTwo = "sk-second-secret";

    /// <summary>One offer whose handler uses the resource <c>gpu</c> (the panel's header check uses it too).</summary>
    public const string GpuCatalog = """
        handlers:
          - {id: echo.render, credits: 3, resource: gpu}
        offers:
          - {service: text, action: shout, handler: echo.render, price: 1, prompt_template: "Say {word}"}
        """;

    private string _boot = "";
    private SwitchboardProcess? _serve;
    private string _key = "";

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        _boot = app.Store.WriteBootstrap("configs.yaml", "", $"fernet_key: {Fernet.GenerateKey()}");
        await PushConfig(app.Store, "svc_handlers", $"openai:\n  base_url: http://127.0.0.1:1/v1\n  ~api_key: {SecretOne}\n", "--author", "alice", "--comment", "first keys");
        await PushConfig(app.Store, "svc_handlers", $"openai:\n  base_url: http://127.0.0.1:2/v1\n  ~api_key: {SecretTwo}\n", "--author", "bob", "--comment", "<b>rotated</b>");
        await PushConfig(app.Store, "resource_map", "resource_map:\n  gpu: {max_concurrent: 2, rpm: 600, credits: 100, period: 1h}\n", "--author", "alice");
        await PushConfig(app.Store, "resource_map", "resource_map:\n  gpu: {max_concurrent: 2, rpm: 600, credits: 100, period: 1h}\n  cpu: {max_concurrent: 4}\n", "--author", "bob");
        await PanelSession.CreateAdmin(app.Store, "root");
        await app.ApplyCatalogAsync(GpuCatalog);
        (_, _key) = await Infrastructure.Cli.CreateUser(app.Store, "alice", 100);
        _serve = await app.StartServeAsync("--config", _boot);
        return app;
    }

    private async Task PushConfig(TestStore store, string id, string yaml, params string[] more)
    {
        var file = Path.Combine(store.Path, $"{id}-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, yaml);
        var (exit, _, error) = await Infrastructure.Cli.RunArgs(["config", "push", file, "--id", id, .. more, "--config", _boot]);
        Assert.True(exit == 0, error);
    }

    [Fact]
    public async Task AnAdminDiffsTwoVersionsWithoutSeeingSecretsAndRollsBackAfterConfirming()
    {
        var page = await PanelSession.AdminPage(chromium, _serve!, "root");
        await Chromium.Scenario(page, nameof(AnAdminDiffsTwoVersionsWithoutSeeingSecretsAndRollsBackAfterConfirming), async () =>
        {
            await page.ClickAsync(".sidebar >> text=Configs");
            await Chromium.Arrive(page, "**/admin/configs");
            var row = page.Locator("tr", new() { HasText = "svc_handlers" });
            Assert.Contains("1.1", await row.InnerTextAsync());
            await PanelSession.Screenshot(page, "configs");

            await page.ClickAsync("a[href='/admin/configs/svc_handlers']");
            Assert.Equal(2, await page.Locator("tr[data-version]").CountAsync());
            Assert.Contains("alice", await page.Locator("tr[data-version='1.0']").InnerTextAsync());
            Assert.Contains("<b>rotated</b>", await page.Locator("tr[data-version='1.1']").InnerTextAsync()); // As text.
            Assert.Contains("active", await page.Locator("tr[data-version='1.1'] .badge").InnerTextAsync());
            await PanelSession.Screenshot(page, "config-versions");

            await page.Locator("tr[data-version='1.0']").GetByText("Diff with active").ClickAsync();
            var diff = await page.Locator("[data-test=diff]").InnerTextAsync();
            Assert.Contains("svc_handlers.openai.base_url", diff);
            Assert.Contains("http://127.0.0.1:2/v1", diff);
            Assert.Contains("(secret, changed)", diff);
            var html = await page.ContentAsync();
            Assert.DoesNotContain("sk-", html);
            Assert.DoesNotContain("gAAAAA", html);
            await PanelSession.Screenshot(page, "config-diff");

            // Endpoint profiles are the operator's: 1.0 sends another key to another host, so the
            // panel shows why it cannot activate it and offers no button; nothing changes.
            await page.GoBackAsync();
            await page.Locator("tr[data-version='1.0']").GetByText("Roll back to this").ClickAsync();
            Assert.Contains("switchboard config rollback", await page.Locator("[data-test=operator-only]").InnerTextAsync());
            Assert.Equal(0, await page.Locator("[data-test=confirm]").CountAsync());
            Assert.Contains("\"active\":true", (await Infrastructure.Cli.RunArgs("config", "list", "svc_handlers", "--config", _boot)).Out.Split('\n')[1]);

            // Any other config rolls back after confirming.
            await page.GotoAsync("/admin/configs/resource_map");
            await page.Locator("tr[data-version='1.0']").GetByText("Roll back to this").ClickAsync();
            Assert.Contains("Make version 1.0 of resource_map active?", await page.Locator(".confirm h2").InnerTextAsync());
            Assert.Contains("resource_map.cpu", await page.Locator(".confirm [data-test=diff]").InnerTextAsync());
            await PanelSession.Screenshot(page, "config-rollback-confirm");
            // Nothing changed by showing the confirmation.
            Assert.Contains("\"active\":true", (await Infrastructure.Cli.RunArgs("config", "list", "resource_map", "--config", _boot)).Out.Split('\n')[1]);

            await page.ClickAsync("[data-test=confirm]");
            Assert.Contains("Rolled back", await page.Locator(".notice").InnerTextAsync());
            Assert.Contains("active", await page.Locator("tr[data-version='1.0'] .badge").InnerTextAsync());
            Assert.Equal(0, await page.Locator("tr[data-version='1.1'] .badge").CountAsync());
            var listed = (await Infrastructure.Cli.RunArgs("config", "list", "resource_map", "--config", _boot)).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("\"active\":true", listed[0]);
            Assert.Contains("\"active\":false", listed[1]);
            // The activations record the rollback, by the signed-in admin, above the pushes.
            var history = await page.Locator("table[data-test=history] tbody tr").AllInnerTextsAsync();
            Assert.Equal(3, history.Count);
            Assert.Contains("rolled back", history[0]);
            Assert.Contains("root", history[0]);
            Assert.Contains("pushed", history[2]);
            await PanelSession.Screenshot(page, "config-rolled-back");

            await page.GotoAsync("/admin/configs/svc_handlers/versions/1.1");
            var content = await page.Locator("[data-test=content]").InnerTextAsync();
            Assert.Contains("~api_key: " + ConfigProtocol.Mask, content);
            Assert.DoesNotContain("sk-", await page.ContentAsync());
        });
    }

    [Fact]
    public async Task ARollbackPostedWithoutConfirmingOnlyAsksAgain()
    {
        var page = await PanelSession.AdminPage(chromium, _serve!, "root");
        await Chromium.Scenario(page, nameof(ARollbackPostedWithoutConfirmingOnlyAsksAgain), async () =>
        {
            var before = (await Infrastructure.Cli.RunArgs("config", "list", "resource_map", "--config", _boot)).Out;
            var target = before.Split('\n')[0].Contains("\"active\":true", StringComparison.Ordinal) ? "1.1" : "1.0";
            await page.GotoAsync($"/admin/configs/resource_map/rollback?to={target}");
            // The same form without its confirm field: the panel asks again and changes nothing.
            await page.EvalOnSelectorAsync("input[name=confirm]", "e => e.remove()");
            await page.RunAndWaitForResponseAsync(() => page.ClickAsync("[data-test=confirm]"), r => r.Url.Contains("/rollback?to=", StringComparison.Ordinal));
            Assert.EndsWith($"/rollback?to={target}", page.Url);
            Assert.Equal(1, await page.Locator("[data-test=confirm]").CountAsync());
            Assert.Equal(before, (await Infrastructure.Cli.RunArgs("config", "list", "resource_map", "--config", _boot)).Out);
        });
    }

    [Fact]
    public async Task TheResourcesPageShowsSlotsCallsAndTheBudgetSpent()
    {
        await Wait.ClearOfPeriodEdge(TimeSpan.FromHours(1), TimeSpan.FromMinutes(1));
        using var api = _serve!.Client(_key);
        for (var i = 0; i < 2; i++)
        {
            var accepted = await api.PostAsJsonAsync("/svc/text/shout/", new { word = $"w{i}" });
            Assert.Equal(202, (int)accepted.StatusCode);
        }
        var page = await PanelSession.AdminPage(chromium, _serve!, "root");
        await Chromium.Scenario(page, nameof(TheResourcesPageShowsSlotsCallsAndTheBudgetSpent), async () =>
        {
            // The budget counts at once; the calls once usage is flushed (every 2 s).
            var card = page.Locator("[data-resource=gpu]");
            var text = await Wait.For(async () =>
                {
                    await page.GotoAsync("/admin/resources");
                    return await card.InnerTextAsync();
                },
                now => now.Contains("6 of 100 credits", StringComparison.Ordinal) && now.Contains("2 of 600 calls", StringComparison.Ordinal),
                TimeSpan.FromSeconds(15), "the gpu card to show the budget spent and the calls", poll: TimeSpan.FromMilliseconds(200));
            Assert.Contains("6 of 100 credits", text);
            Assert.Contains("2 of 600 calls", text);
            Assert.Contains("0 of 2 slots", text);
            Assert.Contains("No job waiting", text);
            Assert.Equal(1, await card.Locator("svg.chart").CountAsync());
            Assert.Equal("Resources", await page.Locator(".nav-item.active").InnerTextAsync());
            await PanelSession.Screenshot(page, "resources");
        });
    }
}
