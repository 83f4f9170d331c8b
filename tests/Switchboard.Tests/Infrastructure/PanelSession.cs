using System.Collections.Concurrent;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Switchboard.Tests.Infrastructure;

/// <summary>Logging in to the admin panel, in a browser page or over plain HTTP.</summary>
public static partial class PanelSession
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

    /// <summary>The cookies of the last login of each admin on each process (its address), for <see cref="AdminPage"/>.</summary>
    private static readonly ConcurrentDictionary<(Uri Address, string Name), string> SignedIn = new();

    /// <summary>
    /// A new page (own cookies) logged in as <paramref name="name"/>, on the dashboard. The login
    /// form is filled once per admin and process: later pages start from that login's cookies (the
    /// password hash costs a few hundred milliseconds on purpose), and log in again when the
    /// session is gone (logged out, or another process now on that address).
    /// </summary>
    public static async Task<IPage> AdminPage(Chromium chromium, SwitchboardProcess serve, string name, int width = 1366, ColorScheme scheme = ColorScheme.Light)
    {
        var key = (serve.Address!, name);
        if (SignedIn.TryGetValue(key, out var state))
        {
            var again = await chromium.NewPage(serve.Address!, width, scheme: scheme, storageState: state);
            var response = await again.GotoAsync("/admin/");
            if (response is { Status: 200 } && new Uri(again.Url).AbsolutePath == "/admin/")
            {
                return again;
            }
            await again.Context.CloseAsync();
        }
        var page = await chromium.NewPage(serve.Address!, width, scheme: scheme);
        await LogIn(page, name, Password);
        await Chromium.Arrive(page, "**/admin/");
        SignedIn[key] = await page.Context.StorageStateAsync();
        return page;
    }

    /// <summary>Saves a screenshot of the page as NAME.png in <see cref="Chromium.ScreenshotDir"/>, for people to look at.</summary>
    public static async Task Screenshot(IPage page, string name)
    {
        Directory.CreateDirectory(Chromium.ScreenshotDir);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.ScreenshotDir, name + ".png"), FullPage = true });
    }

    /// <summary>A client that keeps the panel's cookies in <paramref name="cookies"/> (shared by clients of several processes on 127.0.0.1) and does not follow redirects.</summary>
    public static HttpClient HttpClient(Uri address, CookieContainer cookies) =>
        new(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = address };

    /// <summary>The antiforgery token of the first form on the page at <paramref name="path"/>.</summary>
    public static async Task<string> FormToken(HttpClient client, string path)
    {
        var match = TokenField().Match(await client.GetStringAsync(path));
        Assert.True(match.Success, $"no form with an antiforgery token on {path}");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    /// <summary>Posts the login form (with the token of the login page) over HTTP; 302 when it opened the panel.</summary>
    public static async Task<HttpResponseMessage> LogIn(HttpClient client, string name, string password) =>
        await client.PostAsync("/admin/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = await FormToken(client, "/admin/login"),
            ["username"] = name,
            ["password"] = password,
        }));

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
