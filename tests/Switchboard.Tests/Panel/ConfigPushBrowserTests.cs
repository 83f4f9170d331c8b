using Microsoft.Playwright;
using Switchboard.Audit;
using Switchboard.Config;

namespace Switchboard.Tests.Panel;

/// <summary>
/// Pushing a config from the panel's editor in a real browser against <c>switchboard serve</c>: a
/// valid text becomes the active version with a masked secret kept sealed and never shown; an
/// invalid one shows its error beside the editor and stores nothing; a change to endpoint
/// profiles or to an !ENV reference is the operator's; a svc_handlers rollback goes through only
/// between versions with the same profiles; forms without their token change nothing.
/// </summary>
public sealed class ConfigPushBrowserTests(Chromium chromium) : AppTests, IClassFixture<Chromium>
{
    private const string Webhook = "https://discord.com/api/webhooks/1/sealed-webhook-secret";
    private const string ApiKey = "sk-operator-secret-key";
    private const string Hostile = "<img src=x onerror=alert(1)>";

    private string _boot = "";
    private SwitchboardProcess? _serve;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        _boot = app.Store.WriteBootstrap("configs.yaml", "", $"fernet_key: {Fernet.GenerateKey()}");
        await PushConfig(app.Store, "recon", $"discord:\n  ~webhook: {Webhook}\n  max_per_minute: 10\nalerts:\n  budget_percent: 90\n");
        await PushConfig(app.Store, "svc_handlers", $"openai:\n  base_url: http://127.0.0.1:1/v1\n  ~api_key: {ApiKey}\n");
        await PushConfig(app.Store, "svc_handlers", $"openai:\n  base_url: http://127.0.0.1:2/v1\n  ~api_key: {ApiKey}\n");
        await PanelSession.CreateAdmin(app.Store, "root");
        _serve = await app.StartServeAsync("--config", _boot);
        return app;
    }

    private async Task PushConfig(TestStore store, string id, string yaml)
    {
        var file = Path.Combine(store.Path, $"{id}-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, yaml);
        var (exit, _, error) = await Infrastructure.Cli.RunArgs(["config", "push", file, "--id", id, "--author", "operator", "--config", _boot]);
        Assert.True(exit == 0, error);
    }

    /// <summary>The server's logged exceptions, to say why a test failed.</summary>
    private string Errors() => string.Join("\n", _serve!.StdoutLines.TakeLast(6));

    private ConfigStore Configs => new(App.Store.Store, ConfigStore.DefaultTable);

    private async Task<string> Reveal(string id) =>
        (await Infrastructure.Cli.RunArgs("config", "show", id, "--reveal", "--config", _boot)).Out;

    /// <summary>Puts <paramref name="text"/> in the editor of <paramref name="id"/> and pushes it; the answer to the POST.</summary>
    private static async Task<IResponse> PushFromEditor(IPage page, string id, string text, string? comment = null)
    {
        await page.GotoAsync($"/admin/configs/{id}");
        await page.FillAsync("textarea[name=yaml]", text);
        if (comment is not null)
        {
            await page.FillAsync("input[name=comment]", comment);
        }
        return await page.RunAndWaitForResponseAsync(() => page.ClickAsync("[data-test=push]"),
            r => r.Url.EndsWith($"/admin/configs/{id}/push", StringComparison.Ordinal) && r.Request.Method == "POST");
    }

    [Fact]
    public async Task AValidPushBecomesTheActiveVersionAndAMaskedSecretStaysSealedAndUnseen()
    {
        var page = await PanelSession.AdminPage(chromium, _serve!, "root");
        var dialogs = ScriptDialogs.On(page);
        await Chromium.Scenario(page, nameof(AValidPushBecomesTheActiveVersionAndAMaskedSecretStaysSealedAndUnseen), async () =>
        {
            await page.GotoAsync("/admin/configs/recon");
            var editor = await page.InputValueAsync("textarea[name=yaml]");
            Assert.Contains("~webhook: " + ConfigProtocol.QuotedMask, editor);
            Assert.DoesNotContain("sealed-webhook-secret", await page.ContentAsync());
            Assert.DoesNotContain("gAAAAA", await page.ContentAsync());
            await PanelSession.Screenshot(page, "config-push-editor");

            var response = await PushFromEditor(page, "recon", editor.Replace("budget_percent: 90", "budget_percent: 75", StringComparison.Ordinal), Hostile);
            Assert.Equal(302, response.Status);
            Assert.Contains("Pushed", await page.Locator(".notice").InnerTextAsync());
            Assert.Contains(Hostile, await page.Locator("tr[data-version='1.1']").InnerTextAsync()); // The comment, as text.
            Assert.Contains("active", await page.Locator("tr[data-version='1.1'] .badge").InnerTextAsync());
            Assert.Equal(0, dialogs.Count);

            var active = Configs.Get("recon", null)!;
            Assert.Equal("1.1", active.Version);
            Assert.Equal("root", active.Author);
            Assert.Contains("budget_percent: 75", active.Content);
            // Stored sealed (a token, never the text), and the same secret as before.
            Assert.DoesNotContain("sealed-webhook-secret", active.Content);
            Assert.Contains("~webhook: gAAAAA", active.Content);
            Assert.Contains(Webhook, await Reveal("recon"));

            await page.GotoAsync("/admin/configs/recon/versions/1.1");
            Assert.Contains("~webhook: " + ConfigProtocol.Mask, await page.Locator("[data-test=content]").InnerTextAsync());
            await page.GotoAsync("/admin/configs/recon");
            var html = await page.ContentAsync();
            Assert.DoesNotContain("sealed-webhook-secret", html);
            Assert.DoesNotContain("gAAAAA", html);

            // The audit trail has the push by the admin, its text by size and hash only.
            var row = App.Store.Query(c => AuditLog.Read(c, new AuditFilter(Action: "POST /admin/configs/{id}/push"))).Single();
            Assert.Equal("root", row.Actor);
            Assert.Equal("recon", row.Target);
            Assert.Contains("\"sha256\"", row.Details);
            Assert.DoesNotContain("budget_percent", row.Details);
        });
    }

    [Fact]
    public async Task AnInvalidPushShowsItsErrorBesideTheEditorStoresNothingAndNeverShowsATypedSecret()
    {
        var page = await PanelSession.AdminPage(chromium, _serve!, "root");
        var dialogs = ScriptDialogs.On(page);
        await Chromium.Scenario(page, nameof(AnInvalidPushShowsItsErrorBesideTheEditorStoresNothingAndNeverShowsATypedSecret), async () =>
        {
            var before = Configs.List("recon").Count;
            // Not YAML: the error names the line.
            var broken = await PushFromEditor(page, "recon", "discord:\n  max_per_minute: [10\nalerts: {\n");
            Assert.True(broken.Status == 400, $"{broken.Status}: {Errors()}");
            Assert.Contains("line ", await page.Locator("[data-field-error=yaml]").InnerTextAsync());

            // YAML that breaks the config's rules, with a typed secret: the rule's message, and the secret masked when shown again.
            var invalid = await PushFromEditor(page, "recon",
                $"discord:\n  ~webhook: https://discord.com/api/webhooks/2/typed-secret\n  max_per_minute: 5000\nalerts:\n  budget_percent: {Hostile}\n");
            Assert.True(invalid.Status == 400, $"{invalid.Status}: {Errors()}");
            var error = await page.Locator("[data-field-error=yaml]").InnerTextAsync();
            Assert.Contains("recon.discord.max_per_minute", error);
            Assert.Contains("~webhook: " + ConfigProtocol.QuotedMask, await page.InputValueAsync("textarea[name=yaml]"));
            Assert.Contains(Hostile, await page.InputValueAsync("textarea[name=yaml]"));
            Assert.DoesNotContain("typed-secret", await page.ContentAsync());
            await PanelSession.Screenshot(page, "config-push-invalid");

            // The mask where no secret is stored: nothing to keep, so refused.
            var nowhere = await PushFromEditor(page, "resource_map", $"gpu:\n  max_concurrent: 2\n  ~token: {ConfigProtocol.QuotedMask}\n");
            Assert.True(nowhere.Status == 400, $"{nowhere.Status}: {Errors()}");
            Assert.Contains("no secret is stored there", await page.Locator("[data-field-error=yaml]").InnerTextAsync());

            Assert.Equal(before, Configs.List("recon").Count);
            Assert.Empty(Configs.List("resource_map"));
            Assert.Equal(0, dialogs.Count);
            Assert.Empty(App.Store.Query(c => AuditLog.Read(c, new AuditFilter(Action: "POST /admin/configs/{id}/push"))));
        });
    }

    [Fact]
    public async Task EndpointProfilesAndEnvironmentReferencesAreNeverPushedFromThePanel()
    {
        var page = await PanelSession.AdminPage(chromium, _serve!, "root");
        await Chromium.Scenario(page, nameof(EndpointProfilesAndEnvironmentReferencesAreNeverPushedFromThePanel), async () =>
        {
            await page.GotoAsync("/admin/configs/svc_handlers");
            var editor = await page.InputValueAsync("textarea[name=yaml]");
            Assert.DoesNotContain(ApiKey, await page.ContentAsync());

            // Another host for the same key.
            var moved = await PushFromEditor(page, "svc_handlers", editor.Replace("127.0.0.1:2", "attacker.example", StringComparison.Ordinal));
            Assert.Equal(403, moved.Status);
            Assert.Contains("endpoint profiles are the operator's", await page.Locator("[data-test=push-refused]").InnerTextAsync());
            // Another key for the same host, and a new profile.
            var rekeyed = await PushFromEditor(page, "svc_handlers", editor.Replace(ConfigProtocol.Mask, "sk-admin-typed-key-000", StringComparison.Ordinal));
            Assert.Equal(403, rekeyed.Status);
            var added = await PushFromEditor(page, "svc_handlers", editor + "  endpoints:\n    local: {base_url: http://10.0.0.5/v1, api_key_env: HOME}\n");
            Assert.Equal(403, added.Status);
            Assert.DoesNotContain("sk-admin-typed-key-000", await page.ContentAsync());
            // An !ENV reference reads the operator's environment.
            var env = await PushFromEditor(page, "recon", "alerts:\n  budget_percent: 80\nretention: {requests_days: !ENV ${HOME}}\n");
            Assert.Equal(403, env.Status);
            Assert.Contains("!ENV", await page.Locator("[data-test=push-refused]").InnerTextAsync());

            Assert.Equal(["1.0", "1.1"], Configs.List("svc_handlers").Select(v => v.Version));
            Assert.Single(Configs.List("recon"));

            // Settings beside the profiles are the admin's.
            var kept = await PushFromEditor(page, "svc_handlers", editor.Replace("openai:\n", "openai:\n  note: tuned\n", StringComparison.Ordinal));
            Assert.Equal(302, kept.Status);
            Assert.Equal("1.2", Configs.Get("svc_handlers", null)!.Version);
            Assert.Contains(ApiKey, await Reveal("svc_handlers"));
        });
    }

    [Fact]
    public async Task ASvcHandlersRollbackGoesThroughOnlyBetweenVersionsWithTheSameProfiles()
    {
        // 1.2 has 1.1's profiles; 1.0 sends the key to another host.
        await PushConfig(App.Store, "svc_handlers", $"openai:\n  base_url: http://127.0.0.1:2/v1\n  ~api_key: {ApiKey}\n  note: tuned\n");
        var page = await PanelSession.AdminPage(chromium, _serve!, "root");
        await Chromium.Scenario(page, nameof(ASvcHandlersRollbackGoesThroughOnlyBetweenVersionsWithTheSameProfiles), async () =>
        {
            var refused = await page.GotoAsync("/admin/configs/svc_handlers/rollback?to=1.0");
            Assert.Equal(403, refused!.Status);
            Assert.Contains("switchboard config rollback", await page.Locator("[data-test=operator-only]").InnerTextAsync());
            Assert.Equal(0, await page.Locator("[data-test=confirm]").CountAsync());

            // A hand-made POST with a valid token: refused, nothing changed.
            var token = await page.Locator("input[name=__RequestVerificationToken]").First.GetAttributeAsync("value");
            var form = page.Context.APIRequest.CreateFormData();
            form.Set("__RequestVerificationToken", token!);
            form.Set("to", "1.0");
            form.Set("confirm", "yes");
            var forged = await page.Context.APIRequest.PostAsync("/admin/configs/svc_handlers/rollback", new() { Form = form, MaxRedirects = 0 });
            Assert.Equal(409, forged.Status);
            Assert.Contains("switchboard config rollback", await forged.TextAsync());
            Assert.Equal("1.2", Configs.Get("svc_handlers", null)!.Version);

            // Same profiles: the confirmation, then the rollback.
            await page.GotoAsync("/admin/configs/svc_handlers/rollback?to=1.1");
            Assert.Contains("svc_handlers.openai.note", await page.Locator(".confirm [data-test=diff]").InnerTextAsync());
            await page.ClickAsync("[data-test=confirm]");
            Assert.Contains("Rolled back", await page.Locator(".notice").InnerTextAsync());
            Assert.Equal("1.1", Configs.Get("svc_handlers", null)!.Version);
            Assert.DoesNotContain(ApiKey, await page.ContentAsync());
        });
    }

    [Fact]
    public async Task PushAndRollbackPostedWithoutTheAntiforgeryTokenChangeNothing()
    {
        await PushConfig(App.Store, "resource_map", "gpu: {max_concurrent: 2}\n");
        await PushConfig(App.Store, "resource_map", "gpu: {max_concurrent: 3}\n");
        var page = await PanelSession.AdminPage(chromium, _serve!, "root");
        await Chromium.Scenario(page, nameof(PushAndRollbackPostedWithoutTheAntiforgeryTokenChangeNothing), async () =>
        {
            var push = page.Context.APIRequest.CreateFormData();
            push.Set("yaml", "gpu: {max_concurrent: 9}\n");
            push.Set("base", "1.1");
            var pushed = await page.Context.APIRequest.PostAsync("/admin/configs/resource_map/push", new() { Form = push, MaxRedirects = 0 });
            Assert.Equal(400, pushed.Status);
            Assert.Contains("nothing was changed", await pushed.TextAsync());

            var rollback = page.Context.APIRequest.CreateFormData();
            rollback.Set("to", "1.0");
            rollback.Set("confirm", "yes");
            var rolled = await page.Context.APIRequest.PostAsync("/admin/configs/resource_map/rollback", new() { Form = rollback, MaxRedirects = 0 });
            Assert.Equal(400, rolled.Status);
            Assert.Contains("nothing was changed", await rolled.TextAsync());

            Assert.Equal(["1.0", "1.1"], Configs.List("resource_map").Select(v => v.Version));
            Assert.Equal("1.1", Configs.Get("resource_map", null)!.Version);
        });
    }

    [Fact]
    public async Task HostileValuesInConfigPagesShowAsText()
    {
        await PushConfig(App.Store, "resource_map", $"gpu: {{max_concurrent: 2}}\n# {Hostile}\n");
        var page = await PanelSession.AdminPage(chromium, _serve!, "root");
        var dialogs = ScriptDialogs.On(page);
        await Chromium.Scenario(page, nameof(HostileValuesInConfigPagesShowAsText), async () =>
        {
            await page.GotoAsync("/admin/configs/resource_map/versions/1.0");
            Assert.Contains(Hostile, await page.Locator("[data-test=content]").InnerTextAsync());
            await page.GotoAsync("/admin/configs/resource_map");
            Assert.Contains(Hostile, await page.InputValueAsync("textarea[name=yaml]"));
            var missing = await page.GotoAsync($"/admin/configs/resource_map/rollback?to={Uri.EscapeDataString("<script>alert(1)</script>")}");
            Assert.Equal(404, missing!.Status);
            Assert.Contains("<script>alert(1)</script>", await page.Locator(".card").First.InnerTextAsync());
            var diff = await page.GotoAsync($"/admin/configs/resource_map/diff?from=1.0&to={Uri.EscapeDataString(Hostile)}");
            Assert.Equal(404, diff!.Status);
            Assert.Equal(0, dialogs.Count);
        });
    }
}
