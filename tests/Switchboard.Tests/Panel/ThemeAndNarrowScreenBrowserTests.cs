using Microsoft.Playwright;
using Switchboard.Admin.Panel;

namespace Switchboard.Tests.Panel;

/// <summary>
/// One <c>switchboard serve</c> (SQLite) with a little of everything for the theme and
/// narrow-screen tests: a catalog, a deal, a user with credits and requests, two config versions.
/// </summary>
public sealed class ThemePanelServe : PanelServe
{
    public string RequestId { get; private set; } = "";

    protected override async Task PrepareAsync()
    {
        await PanelSession.CreateAdmin(Store, "root");
        await Infrastructure.Cli.ApplyCatalog(Store, """
            handlers:
              - {id: echo.render, credits: 1}
            offers:
              - {service: text, action: shout, handler: echo.render, price: 5, prompt_template: "Say {word}"}
            deals:
              - name: pair
                offers:
                  - {offer: text/shout}
            """);
        await Infrastructure.Cli.CreateUser(Store, "dana", 100);
        await Infrastructure.Cli.PushConfig(Store, "resource_map", "resource_map:\n  gpu: {max_concurrent: 2}\n");
    }
}

/// <summary>
/// Every page of the sidebar (and a page of each kind of thing) at 360 px wide: the page never
/// scrolls sideways (wide tables scroll inside their card), in the light theme and in the dark one
/// the browser asks for; the two themes really differ.
/// </summary>
public sealed class ThemeAndNarrowScreenBrowserTests(Chromium chromium, ThemePanelServe fixture) : IClassFixture<Chromium>, IClassFixture<ThemePanelServe>
{
    private static IEnumerable<string> Paths() =>
        PanelSections.All.SelectMany(s => s.Subs.Select(sub => sub.Path).Prepend(s.Path))
            .Concat(["/admin/users/dana", "/admin/offers/text/shout", "/admin/deals/pair", "/admin/handlers/echo.render", "/admin/configs/resource_map"]);

    [Theory]
    [InlineData(ColorScheme.Light)]
    [InlineData(ColorScheme.Dark)]
    public async Task EveryPageFitsA360PixelScreen(ColorScheme scheme)
    {
        var page = await PanelSession.AdminPage(chromium, fixture.Serve, "root", width: 360, scheme: scheme);
        await Chromium.Scenario(page, $"{nameof(EveryPageFitsA360PixelScreen)}-{scheme}", async () =>
        {
            foreach (var path in Paths())
            {
                var response = await page.GotoAsync(path);
                Assert.True(response!.Ok, $"{path} answered {response.Status}");
                var widths = await page.EvaluateAsync<int[]>("[document.documentElement.scrollWidth, window.innerWidth]");
                var (scroll, inner) = (widths[0], widths[1]);
                Assert.True(scroll <= inner, $"{path} is {scroll} px wide on a {inner} px screen ({scheme})");
                Assert.True(await page.Locator("h1").IsVisibleAsync(), $"{path}: no title visible");
                var name = path.Trim('/').Replace('/', '-');
                await PanelSession.Screenshot(page, $"narrow-{scheme.ToString().ToLowerInvariant()}-{(name.Length == 0 ? "admin" : name)}");
            }
        });
    }

    [Fact]
    public async Task TheDarkThemeFollowsTheBrowsersPreference()
    {
        async Task<double> Luminance(ColorScheme scheme, string selector)
        {
            var page = await PanelSession.AdminPage(chromium, fixture.Serve, "root", scheme: scheme);
            var rgb = await page.EvaluateAsync<double[]>($"(getComputedStyle(document.querySelector('{selector}')).backgroundColor.match(/\\d+(\\.\\d+)?/g) || []).slice(0, 3).map(Number)");
            await PanelSession.Screenshot(page, $"dashboard-{scheme.ToString().ToLowerInvariant()}");
            await page.Context.CloseAsync();
            Assert.Equal(3, rgb.Length);
            return (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255;
        }

        Assert.True(await Luminance(ColorScheme.Light, "body") > 0.8, "the light theme's page is light");
        Assert.True(await Luminance(ColorScheme.Light, ".card") > 0.9, "the light theme's cards are light");
        Assert.True(await Luminance(ColorScheme.Dark, "body") < 0.2, "the dark theme's page is dark");
        Assert.True(await Luminance(ColorScheme.Dark, ".card") < 0.2, "the dark theme's cards are dark");
    }
}
