using System.Text;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Switchboard.Tests.Security;

/// <summary>
/// One rule for users' names (Users/UserNames.cs), applied by the admin API, the panel's form
/// and <c>users create</c> alike, with the same checks of passwords and credits in the CLI as
/// in the API; names stored before the rule keep working and are renamed by an admin (by id in
/// the API, so even a name holding '/' can be reached), then managed as any other (on both
/// stores: <see cref="LegacyUserNamesTests"/>).
/// </summary>
public sealed class UserNameRulesTests
{
    /// <summary>Names the rule refuses: controls, bidi overrides, paths, whitespace, edges, length, non-ASCII, a trailing newline.</summary>
    public static readonly string[] BadNames =
    [
        "a\u0000b", "bell\u0007", "evil\u202etxt.exe", "x\u200by", "../x", "a/b", "a\\b", "a..b", "a b", " alice", "tab\tname",
        ".hidden", "-dash", "dash-", "trail.", "alice\n", "é", "аdmin", new string('a', 65), "<img src=x>", "a%2Fb", "a;b", "",
    ];

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static long Users(TestStore store) => store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM users"));

    [Fact]
    public async Task EveryBadNameIsRefusedByTheApiAsInvalidUserAndNothingIsCreated()
    {
        await using var app = await TestApp.StartAsync(StoreKind.Sqlite);
        var client = (await app.AddAdminAsync("root", "--password", "long enough")).Client;

        foreach (var name in BadNames)
        {
            var body = new JsonObject { ["name"] = name, ["credits"] = 5 }.ToJsonString();
            // A control character other than tab and line breaks is refused by the admin body reader
            // before any rule (Admin/AdminJson.cs, Errors/InputText.cs).
            if (name.Any(c => char.IsControl(c) && c is not ('\t' or '\n' or '\r')))
            {
                await Problem(await client.PostAsync("/admin/api/users", Json(body)), HttpStatusCode.BadRequest, "invalid_json");
                continue;
            }
            var problem = await Problem(await client.PostAsync("/admin/api/users", Json(body)), HttpStatusCode.BadRequest, "invalid_user");
            Assert.Contains(problem["errors"]!.AsArray(), e => e!.GetValue<string>().StartsWith("name ", StringComparison.Ordinal));
        }
        // A lone surrogate is valid JSON but not text: 400 invalid_json from the admin body reader, not 500.
        foreach (var body in new[] { """{"name": "\ud800"}""", """{"name": "ok", "password": "\udc00\udc00\udc00\udc00\udc00\udc00\udc00\udc00"}""" })
        {
            await Problem(await client.PostAsync("/admin/api/users", Json(body)), HttpStatusCode.BadRequest, "invalid_json");
        }
        Assert.Equal(1, Users(app.Store));

        // Good names: letters, digits and . _ @ + - inside; an e-mail address fits. Case-insensitively unique.
        foreach (var name in new[] { "a", "Bob", "carol.smith", "d_e-f", "ops+billing@example.com", new string('z', 64) })
        {
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/admin/api/users", Json(new JsonObject { ["name"] = name }.ToJsonString()))).StatusCode);
        }
        await Problem(await client.PostAsync("/admin/api/users", Json("""{"name": "BOB"}""")), HttpStatusCode.Conflict, "user_exists");
    }

    [Fact]
    public async Task UsersCreateInTheCliRefusesWhatTheApiRefuses()
    {
        await using var app = await TestApp.StartAsync(StoreKind.Sqlite);

        foreach (var name in BadNames)
        {
            var (exit, _, error) = await app.CliAsync("users", "create", name);
            Assert.True(exit == 2, $"'{name}': exit {exit}");
            Assert.Contains("switchboard: name ", error);
        }
        // The API's other checks, from the same place: an admin's password length, the credits range.
        var shortPassword = await app.CliAsync("users", "create", "boss", "--admin", "--password", "x");
        Assert.Equal(2, shortPassword.Exit);
        Assert.Contains("password must be at least 8 characters", shortPassword.Err);
        var tooRich = await app.CliAsync("users", "create", "rich", "--credits", "9223372036854775807");
        Assert.Equal(2, tooRich.Exit);
        Assert.Contains("credits must be at most", tooRich.Err);
        Assert.Equal(0, Users(app.Store));
    }

    [Fact]
    public async Task ThePanelFormRefusesABadNameBesideTheField()
    {
        await using var app = await TestApp.StartAsync(StoreKind.Sqlite);
        await PanelSession.CreateAdmin(app.Store, "root");
        using var panel = app.Server.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(panel, "root", PanelSession.Password)).StatusCode);

        foreach (var name in new[] { "../x", "a/b", "evil\u202etxt", "a b" })
        {
            var response = await panel.PostAsync("/admin/users", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = await PanelSession.FormToken(panel, "/admin/users"),
                ["name"] = name,
                ["credits"] = "1",
            }));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var html = await response.Content.ReadAsStringAsync();
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(html, "data-field-error=\"name\">(may hold only|must not)"), html);
        }
        Assert.Equal(1, Users(app.Store));
    }

    [Fact]
    public async Task ThePanelRenamesALegacyNameFromItsPageReachedById()
    {
        await using var app = await TestApp.StartAsync(StoreKind.Sqlite);
        await PanelSession.CreateAdmin(app.Store, "root");
        var (id, _) = await LegacyUsers.Create(app.Store, "a/b", 4);
        using var panel = app.Server.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        await PanelSession.LogIn(panel, "root", PanelSession.Password);

        // The list links the page by id: '/' cannot travel in a route value.
        Assert.Contains($"href=\"/admin/users/{id}\"", await panel.GetStringAsync("/admin/users"));
        var token = await PanelSession.FormToken(panel, $"/admin/users/{id}");
        var refused = await panel.PostAsync($"/admin/users/{id}/rename", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["new_name"] = "still/bad",
        }));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var done = await panel.PostAsync($"/admin/users/{id}/rename", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["new_name"] = "fixed",
        }));

        Assert.Equal(HttpStatusCode.Redirect, done.StatusCode);
        Assert.Equal("/admin/users/fixed?done=renamed", done.Headers.Location?.OriginalString);
        Assert.Contains("User fixed", await panel.GetStringAsync("/admin/users/fixed"));
    }
}
