using Microsoft.Playwright;

namespace Switchboard.Tests.Infrastructure;

/// <summary>Logging in to the admin panel in a browser page, for the panel's browser tests.</summary>
public static class PanelSession
{
    public const string Password = "correct horse battery";

    /// <summary>Creates an admin with <see cref="Password"/> through the CLI, as an operator would.</summary>
    public static async Task CreateAdmin(TestStore store, string name)
    {
        var (exit, _, error) = await Cli.Run(store, ["users", "create", name, "--admin", "--password", Password]);
        Assert.True(exit == 0, error);
    }

    /// <summary>Fills the login form and submits it; returns the response to the POST.</summary>
    public static async Task<IResponse> LogIn(IPage page, string name, string password)
    {
        await page.GotoAsync("/admin/login");
        await page.FillAsync("input[name=username]", name);
        await page.FillAsync("input[name=password]", password);
        return await page.RunAndWaitForResponseAsync(
            () => page.ClickAsync("button[type=submit]"),
            r => r.Url.EndsWith("/admin/login", StringComparison.Ordinal) && r.Request.Method == "POST");
    }

    /// <summary>A new page (own cookies) logged in as <paramref name="name"/>, on the dashboard.</summary>
    public static async Task<IPage> AdminPage(Chromium chromium, SwitchboardProcess serve, string name)
    {
        var page = await chromium.NewPage(serve.Address!);
        await LogIn(page, name, Password);
        await Chromium.Arrive(page, "**/admin/");
        return page;
    }

    /// <summary>Saves a screenshot of the page as NAME.png in <see cref="Chromium.ScreenshotDir"/>, for people to look at.</summary>
    public static async Task Screenshot(IPage page, string name)
    {
        Directory.CreateDirectory(Chromium.ScreenshotDir);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.ScreenshotDir, name + ".png"), FullPage = true });
    }
}
