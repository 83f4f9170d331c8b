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
        await AdminAndEchoCatalogAsync("""
            deals:
              - name: pair
                offers:
                  - {offer: text/shout}
            """, ("dana", 100));
        await Infrastructure.Cli.PushConfig(Store, "resource_map", "resource_map:\n  gpu: {max_concurrent: 2}\n");
    }
}

/// <summary>
/// Every page of the sidebar (and a page of each kind of thing) at 360 px wide: the page never
/// scrolls sideways (wide tables scroll inside their card), in the light theme and in the dark one
/// the browser asks for; the two themes really differ. Screenshots: a few representative pages at
/// 360 px, and the dashboard and the requests page full width in each theme.
/// </summary>
public sealed class ThemeAndNarrowScreenBrowserTests(Chromium chromium, ThemePanelServe fixture) : IClassFixture<Chromium>, IClassFixture<ThemePanelServe>
{
    private static readonly ColorScheme[] Schemes = [ColorScheme.Light, ColorScheme.Dark];

    /// <summary>The narrow pages saved as screenshots: the dashboard, a list, a user, a form.</summary>
    private static readonly string[] Pictured = ["/admin/", "/admin/requests", "/admin/users/dana", "/admin/offers/text/shout"];

    private static IEnumerable<string> Paths() =>
        PanelSections.All.SelectMany(s => s.Subs.Select(sub => sub.Path).Prepend(s.Path))
            .Concat(["/admin/users/dana", "/admin/offers/text/shout", "/admin/deals/pair", "/admin/handlers/echo.render", "/admin/configs/resource_map"]);

    /// <summary>Makes the browser prefer <paramref name="scheme"/>, on the page as loaded (its media queries apply again, as after a reload), and checks it took.</summary>
    private static async Task Prefer(IPage page, ColorScheme scheme)
    {
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = scheme });
        Assert.Equal(scheme == ColorScheme.Dark, await page.EvaluateAsync<bool>("matchMedia('(prefers-color-scheme: dark)').matches"));
    }

    [Fact]
    public async Task EveryPageFitsA360PixelScreenInBothThemes()
    {
        var page = await PanelSession.AdminPage(chromium, fixture.Serve, "root", width: 360);
        await Chromium.Scenario(page, nameof(EveryPageFitsA360PixelScreenInBothThemes), async () =>
        {
            foreach (var path in Paths())
            {
                var response = await page.GotoAsync(path);
                Assert.True(response!.Ok, $"{path} answered {response.Status}");
                foreach (var scheme in Schemes)
                {
                    await Prefer(page, scheme);
                    var widths = await page.EvaluateAsync<int[]>("[document.documentElement.scrollWidth, window.innerWidth]");
                    var (scroll, inner) = (widths[0], widths[1]);
                    Assert.True(scroll <= inner, $"{path} is {scroll} px wide on a {inner} px screen ({scheme})");
                    Assert.True(await page.Locator("h1").IsVisibleAsync(), $"{path}: no title visible ({scheme})");
                    if (Pictured.Contains(path))
                    {
                        var name = path.Trim('/').Replace('/', '-');
                        await PanelSession.Screenshot(page, $"narrow-{scheme.ToString().ToLowerInvariant()}-{name}");
                    }
                }
            }
        });
    }

    [Fact]
    public async Task TheDarkThemeFollowsTheBrowsersPreference()
    {
        var page = await PanelSession.AdminPage(chromium, fixture.Serve, "root");
        async Task<double> Luminance(string selector)
        {
            var rgb = await page.EvaluateAsync<double[]>($"(getComputedStyle(document.querySelector('{selector}')).backgroundColor.match(/\\d+(\\.\\d+)?/g) || []).slice(0, 3).map(Number)");
            Assert.Equal(3, rgb.Length);
            return (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255;
        }

        await Chromium.Scenario(page, nameof(TheDarkThemeFollowsTheBrowsersPreference), async () =>
        {
            Assert.True(await Luminance("body") > 0.8, "the light theme's page is light");
            Assert.True(await Luminance(".card") > 0.9, "the light theme's cards are light");
            await PanelSession.Screenshot(page, "dashboard-light");
            await Prefer(page, ColorScheme.Dark);
            Assert.True(await Luminance("body") < 0.2, "the dark theme's page is dark");
            Assert.True(await Luminance(".card") < 0.2, "the dark theme's cards are dark");
            await PanelSession.Screenshot(page, "dashboard-dark");

            await page.GotoAsync("/admin/requests");
            foreach (var scheme in Schemes)
            {
                await Prefer(page, scheme);
                await PanelSession.Screenshot(page, $"requests-{scheme.ToString().ToLowerInvariant()}");
            }
        });
    }
}
