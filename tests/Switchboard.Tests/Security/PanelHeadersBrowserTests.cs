using System.Collections.Concurrent;
using Microsoft.Playwright;
using Switchboard.Config;

namespace Switchboard.Tests.Security;

/// <summary>
/// Every panel page carries a Content-Security-Policy that allows no inline script or style and
/// no framing, plus nosniff and a same-origin Referrer-Policy; and the pages need nothing the
/// policy refuses: Chromium reports no violation on any of them (it does report one for an
/// inline style put in on purpose, so the check can see one).
/// </summary>
public sealed class PanelHeadersBrowserTests(Chromium chromium) : AppTests, IClassFixture<Chromium>
{
    private SwitchboardProcess? _serve;
    private string _requestId = "";

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        var boot = app.Store.WriteBootstrap("configs.yaml", "", $"fernet_key: {Fernet.GenerateKey()}");
        var file = Path.Combine(app.Store.Path, "resource_map.yaml");
        await File.WriteAllTextAsync(file, "resource_map:\n  gpu: {max_concurrent: 2, rpm: 600, credits: 100, period: 1h}\n");
        var (exit, _, error) = await Infrastructure.Cli.RunArgs(["config", "push", file, "--id", "resource_map", "--config", boot]);
        Assert.True(exit == 0, error);
        await PanelSession.CreateAdmin(app.Store, "root");
        await app.ApplyCatalogAsync(Panel.ConfigsAndResourcesBrowserTests.GpuCatalog);
        var (_, key) = await Infrastructure.Cli.CreateUser(app.Store, "alice", 100);
        _serve = await app.StartServeAsync("--config", boot);
        using var client = _serve.Client(key);
        _requestId = await SwitchboardFactory.IdOf(await client.PostAsJsonAsync("/svc/text/shout/", new { word = "hi" }));
        await SwitchboardFactory.WaitForEnd(client, _requestId);
        return app;
    }

    [Fact]
    public async Task NoPanelPageBreaksItsContentSecurityPolicy()
    {
        var page = await chromium.NewPage(_serve!.Address!);
        var violations = new ConcurrentQueue<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.Ordinal))
            {
                violations.Enqueue($"{page.Url}: {message.Text}");
            }
        };
        await Chromium.Scenario(page, nameof(NoPanelPageBreaksItsContentSecurityPolicy), async () =>
        {
            await Check(page, "/admin/login");
            await PanelSession.LogIn(page, "root", PanelSession.Password);
            await Chromium.Arrive(page, "**/admin/");
            string[] paths =
            [
                "/admin/", "/admin/handlers", "/admin/handlers/echo.render", "/admin/handlers/echo.render/delete",
                "/admin/offers", "/admin/offers/new", "/admin/offers/text/shout", "/admin/offers/text/shout/delete",
                "/admin/deals", "/admin/deals/new", "/admin/users", "/admin/users/alice",
                "/admin/requests", $"/admin/requests/{_requestId}", "/admin/configs", "/admin/configs/resource_map", "/admin/resources",
            ];
            foreach (var path in paths)
            {
                await Check(page, path);
            }
            Assert.Empty(violations);

            // The check sees a violation when there is one: an inline style is refused and reported.
            await page.EvaluateAsync("document.body.insertAdjacentHTML('beforeend', '<div style=\"color: red\">inline</div>')");
            await Assertions.Expect(page.Locator("text=inline")).ToHaveCountAsync(1);
            await Wait.Until(() => !violations.IsEmpty, TimeSpan.FromSeconds(10), "the page to report the inline style");
            Assert.Contains(violations, v => v.Contains("inline style", StringComparison.OrdinalIgnoreCase));
        });
    }

    private static async Task Check(IPage page, string path)
    {
        var response = await page.GotoAsync(path);
        Assert.NotNull(response);
        Assert.True(response.Status == 200, $"{path}: {response.Status}");
        Assert.EndsWith(path, page.Url);
        var headers = await response.AllHeadersAsync();
        var csp = headers["content-security-policy"];
        foreach (var directive in new[] { "default-src 'self'", "script-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'" })
        {
            Assert.Contains(directive, csp);
        }
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.Equal("nosniff", headers["x-content-type-options"]);
        Assert.Equal("same-origin", headers["referrer-policy"]);
    }
}
