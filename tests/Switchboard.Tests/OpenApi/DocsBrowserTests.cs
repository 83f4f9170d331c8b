using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Switchboard.Tests.OpenApi;

/// <summary>
/// <c>/docs</c> in Debian's chromium against a real server process: the Scalar reference renders
/// both documents with their operations (a live offer's among them), within its own
/// Content-Security-Policy, and no request leaves 127.0.0.1 (it works offline).
/// </summary>
public sealed class DocsBrowserTests(Chromium chromium) : AppTests, IClassFixture<Chromium>
{
    private SwitchboardProcess? _serve;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite, catalog: TestCatalogs.Shout);
        _serve = await app.StartServeAsync();
        return app;
    }

    [Fact]
    public async Task TheReferenceRendersBothDocumentsFromThisServerOnly()
    {
        var page = await chromium.NewPage(_serve!.Address!);
        var requests = new ConcurrentQueue<string>();
        var violations = new ConcurrentQueue<string>();
        page.Request += (_, request) => requests.Enqueue(request.Url);
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.Ordinal))
            {
                violations.Enqueue(message.Text);
            }
        };

        await Chromium.Scenario(page, "docs", async () =>
        {
            var answer = await page.GotoAsync("/docs/");
            Assert.Equal(200, answer!.Status);
            Assert.Contains("script-src 'self' 'nonce-", (await answer.AllHeadersAsync())["content-security-policy"]);
            // The client document (the default): a route of the API's own, and the live offer (every tag is open).
            await Assertions.Expect(page.GetByText("The live offers, grouped by service, and the live deals (no key needed)").First).ToBeVisibleAsync();
            await Assertions.Expect(page.GetByText("text/shout (5 credits, 1 result(s))").First).ToBeVisibleAsync();
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.ScreenshotDir, "docs.png") });
            // The admin document, chosen in the selector.
            await page.GetByText("Client API").First.ClickAsync();
            await page.GetByText("Admin API").First.ClickAsync();
            await Assertions.Expect(page.GetByText("Switchboard admin API").First).ToBeVisibleAsync();
        });

        Assert.Contains(requests, u => u.EndsWith("/svc/openapi.json", StringComparison.Ordinal));
        Assert.Contains(requests, u => u.EndsWith("/admin/api/openapi.json", StringComparison.Ordinal));
        Assert.All(requests, u => Assert.True(
            u.StartsWith(_serve.Address!.ToString(), StringComparison.Ordinal) || u.StartsWith("data:", StringComparison.Ordinal) || u.StartsWith("blob:", StringComparison.Ordinal),
            $"a request left the server: {u}"));
        Assert.Empty(violations);
    }
}
