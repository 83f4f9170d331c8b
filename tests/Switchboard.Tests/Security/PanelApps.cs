using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Mvc.Testing.Handlers;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Admin.Panel;
using Switchboard.Cli;

namespace Switchboard.Tests.Security;

/// <summary>In-memory api processes for the panel's security tests, their clients, and the CLI with stdin.</summary>
internal static class PanelApps
{
    /// <summary>A client of <paramref name="app"/> that keeps cookies in <paramref name="cookies"/> (shared between apps) and follows no redirect.</summary>
    public static HttpClient Client(WebApplicationFactory<Program> app, CookieContainer cookies) =>
        app.CreateDefaultClient(new Uri("http://localhost"), new CookieContainerHandler(cookies));

    public static PasswordChecks Checks(WebApplicationFactory<Program> app) => app.Services.GetRequiredService<PasswordChecks>();

    /// <summary>Runs a management command with <paramref name="stdin"/> as its standard input.</summary>
    public static async Task<(int Exit, string Out, string Err)> Cli(TestStore store, string stdin, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await CommandLine.RunAsync([.. args, .. store.ProcessArgs], output, error, new StringReader(stdin));
        return (exit, output.ToString(), error.ToString());
    }

    public static async Task Ok(TestStore store, params string[] args)
    {
        var (exit, _, error) = await Infrastructure.Cli.Run(store, args);
        Assert.True(exit == 0, error);
    }

    /// <summary>Polls <paramref name="path"/> until it redirects to the login page; fails after <paramref name="within"/>.</summary>
    public static async Task<TimeSpan> UntilLoggedOut(HttpClient client, TimeSpan within, string path = "/admin/")
    {
        var started = DateTime.UtcNow;
        await Wait.Until(async () =>
        {
            var response = await client.GetAsync(path);
            if (response.StatusCode == HttpStatusCode.Redirect && response.Headers.Location?.OriginalString == "/admin/login")
            {
                return true;
            }
            // Until then the session opens the page: nothing in between.
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return false;
        }, within, $"the session to stop opening {path}");
        return DateTime.UtcNow - started;
    }
}
