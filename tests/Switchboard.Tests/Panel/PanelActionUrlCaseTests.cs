using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using Switchboard.Catalog;
using Switchboard.Users;

namespace Switchboard.Tests.Panel;

/// <summary>
/// Routing matches a panel URL whatever its case, and the enable/disable/access pages decide what
/// they do by the URL's last segment: a URL typed in capitals (or with a trailing slash) must do
/// what it names or nothing, never the opposite action and never a 500.
/// </summary>
public sealed class PanelActionUrlCaseTests
{
    [Fact]
    public async Task AnActionUrlInOtherCaseDoesWhatItNamesOrNothing()
    {
        await using var app = await TestApp.StartAsync(StoreKind.Sqlite);
        await PanelSession.CreateAdmin(app.Store, "root");
        await app.ApplyCatalogAsync("""
            handlers:
              - {id: echo.render, credits: 1}
            offers:
              - {service: text, action: shout, handler: echo.render, price: 5, prompt_template: "Say {word}"}
            """);
        await PanelSession.CreateAdmin(app.Store, "alice");
        using var panel = app.Server.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        await PanelSession.LogIn(panel, "root", PanelSession.Password);

        // The confirmation of the action the URL names, not a 500 and not another action's.
        foreach (var (path, text) in new[]
        {
            ("/admin/users/alice/DISABLE", "Disable alice?"), ("/admin/users/alice/Remove-Admin/", "Take the admin rights of alice away?"),
            ("/admin/handlers/echo.render/ENABLE", "Enable"), ("/admin/offers/text/shout/ENABLE", "Enable"),
        })
        {
            var response = await panel.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains(text, await response.Content.ReadAsStringAsync());
        }

        // Posted in capitals (as a script would, without _handler): enabling leaves an enabled entry enabled, and
        // disabling a user never takes its admin rights away; whatever the answer, it is no 500.
        foreach (var path in new[] { "/admin/handlers/echo.render/ENABLE", "/admin/offers/text/shout/ENABLE", "/admin/users/alice/DISABLE" })
        {
            var response = await panel.PostAsync(path, new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = await PanelSession.FormToken(panel, "/admin/users"),
                ["confirm"] = "yes",
            }));
            Assert.True((int)response.StatusCode < 500, $"{path}: {response.StatusCode}");
        }
        var catalog = app.Store.Query(CatalogStore.Load);
        Assert.True(catalog.Handlers["echo.render"].Enabled);
        Assert.True(catalog.FindOffer("text", "shout")!.Enabled);
        Assert.True(app.Store.Query(c => UserStore.Find(c, "alice"))!.IsAdmin);
    }
}
