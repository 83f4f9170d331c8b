using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// One headless Debian chromium (<c>/usr/bin/chromium</c>, installed by test.sh) shared by a
/// test class; each test opens its own context (own cookies) at 1366×768. Without the binary
/// the tests fail: they are never skipped. Playwright never downloads a browser here.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where screenshots go: <c>SWITCHBOARD_TEST_SCREENSHOTS</c>, or TestResults/screenshots beside the test binaries.</summary>
    public static string ScreenshotDir =>
        Environment.GetEnvironmentVariable("SWITCHBOARD_TEST_SCREENSHOTS") is { Length: > 0 } dir
            ? dir
            : Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"{ExecutablePath} is missing: install Debian's chromium (./test.sh does: apt-get install chromium)");
        }
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            Timeout = 30_000,
        }).WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// A page in a context of its own (own cookies, starting from <paramref name="storageState"/>'s
    /// when given), <paramref name="width"/> pixels wide, with the colour scheme the browser prefers.
    /// </summary>
    public async Task<IPage> NewPage(Uri baseUrl, int width = 1366, int height = 768, ColorScheme scheme = ColorScheme.Light, string? storageState = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            ColorScheme = scheme,
            StorageState = storageState,
        });
        // Generous: a 2-core CI machine runs the rest of the suite beside the browser.
        context.SetDefaultTimeout(30_000);
        // Expectations too: their own default (5 s) is less than Scalar takes to lay out a document under that load.
        Assertions.SetDefaultExpectTimeout(30_000);
        return await context.NewPageAsync();
    }

    /// <summary>Runs a scenario; when it fails, saves the page as NAME-failed.png before rethrowing.</summary>
    public static async Task Scenario(IPage page, string name, Func<Task> steps)
    {
        try
        {
            await steps();
        }
        catch
        {
            Directory.CreateDirectory(ScreenshotDir);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDir, name + "-failed.png"), FullPage = true });
            throw;
        }
    }

    /// <summary>
    /// Waits until the page is at a URL matching <paramref name="glob"/> (<c>*</c> matches
    /// anything) and its document has been parsed. Not <c>page.WaitForURLAsync</c>: when the URL
    /// already matches, it reads the load states it has seen and only then listens for the load
    /// event, so a load arriving between the two is lost and it times out (seen in CI after
    /// "networkidle" had fired). Both checks here poll inside the browser instead.
    /// </summary>
    public static async Task Arrive(IPage page, string glob)
    {
        var pattern = new Regex("^" + Regex.Escape(glob).Replace(@"\*", ".*", StringComparison.Ordinal) + "$");
        await Assertions.Expect(page).ToHaveURLAsync(pattern, new() { Timeout = 30_000 });
        await page.WaitForFunctionAsync("() => document.readyState !== 'loading'");
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
    }
}
