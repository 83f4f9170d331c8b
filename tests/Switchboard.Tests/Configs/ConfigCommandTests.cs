using Microsoft.Extensions.DependencyInjection;
using Switchboard.Config;

namespace Switchboard.Tests.Configs;

/// <summary>
/// Versioned app configs in the store through the CLI, and the processes that load them: on
/// SQLite and on PostgreSQL.
/// </summary>
public abstract class ConfigCommandTests(StoreKind kind) : AppTests
{
    private readonly string _key = Fernet.GenerateKey();
    private string _boot = "";

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind);
        _boot = app.Store.WriteBootstrap("configs.yaml", "", $"fernet_key: {_key}");
        app.Settings["Switchboard:Config"] = _boot;
        return app;
    }

    private string File(string name, string text)
    {
        var path = Path.Combine(App.Store.Path, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    private Task<(int Exit, string Out, string Err)> Config(string boot, params string[] args) =>
        Infrastructure.Cli.RunArgs(["config", .. args, "--config", boot]);

    private async Task<JsonObject> Push(string file, string id, params string[] more)
    {
        var (exit, output, error) = await Config(_boot, ["push", file, "--id", id, .. more]);
        Assert.True(exit == 0, error);
        return (JsonObject)JsonNode.Parse(output)!;
    }

    private async Task<List<JsonObject>> List(string? id = null)
    {
        var (exit, output, error) = await Config(_boot, id is null ? ["list"] : ["list", id]);
        Assert.True(exit == 0, error);
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => (JsonObject)JsonNode.Parse(l)!)];
    }

    private const string HandlersV1 = """
        openai:
          base_url: http://127.0.0.1:1/v1
          ~api_key: sk-first-secret
          ~org: org-unchanged
        """;

    [Fact]
    public async Task VersionsArePushedListedShownDiffedAndRolledBackWithoutShowingSecrets()
    {
        var first = await Push(File("h1.yaml", HandlersV1), "svc_handlers", "--comment", "first keys", "--author", "alice");
        Assert.Equal("1.0", first["version"]!.GetValue<string>());
        Assert.Equal(2, first["secrets"]!.GetValue<int>());
        var second = await Push(File("h2.yaml", HandlersV1.Replace("sk-first-secret", "sk-second-secret").Replace("127.0.0.1:1", "127.0.0.1:2")), "svc_handlers");
        Assert.Equal("1.1", second["version"]!.GetValue<string>());

        var (exists, _, existsError) = await Config(_boot, "push", File("h3.yaml", HandlersV1), "--id", "svc_handlers", "--version", "1.1");
        Assert.Equal(1, exists);
        Assert.Contains("config svc_handlers version 1.1 exists", existsError);

        var listed = await List("svc_handlers");
        Assert.Equal(["1.0", "1.1"], listed.Select(v => v["version"]!.GetValue<string>()));
        Assert.Equal([false, true], listed.Select(v => v["active"]!.GetValue<bool>()));
        Assert.Equal("alice", listed[0]["author"]!.GetValue<string>());
        Assert.Equal("first keys", listed[0]["comment"]!.GetValue<string>());
        Assert.Equal(64, listed[0]["hash"]!.GetValue<string>().Length);
        Assert.Equal(Environment.UserName, listed[1]["author"]!.GetValue<string>());

        var (_, shown, _) = await Config(_boot, "show", "svc_handlers");
        Assert.Contains("~api_key: ********", shown);
        Assert.DoesNotContain("secret", shown);
        Assert.DoesNotContain("gAAAAA", shown);
        var (_, revealed, _) = await Config(_boot, "show", "svc_handlers", "--version", "1.0", "--reveal");
        Assert.Contains("~api_key: \"sk-first-secret\"", revealed);

        var (_, pulled, _) = await Config(_boot, "pull", "svc_handlers");
        Assert.Contains("~api_key: gAAAAA", pulled);
        Assert.DoesNotContain("sk-second-secret", pulled);

        var (_, diff, _) = await Config(_boot, "diff", "svc_handlers", "1.0", "1.1");
        Assert.Contains("~ svc_handlers.openai.api_key: secret changed", diff);
        Assert.Contains("= svc_handlers.openai.org: secret unchanged", diff);
        Assert.Contains("~ svc_handlers.openai.base_url: \"http://127.0.0.1:1/v1\" -> \"http://127.0.0.1:2/v1\"", diff);
        Assert.DoesNotContain("secret\"", diff);
        Assert.DoesNotContain("sk-", diff);

        var (rolled, _, _) = await Config(_boot, "rollback", "svc_handlers", "--to", "1.0", "--author", "carol");
        Assert.Equal(0, rolled);
        var last = App.Store.Query(c => c.Scalar<string>("SELECT actor || ' ' || action || ' ' || version || ' ' || previous FROM config_activations ORDER BY seq DESC LIMIT 1"));
        Assert.Equal("carol rollback 1.0 1.1", last);
        listed = await List("svc_handlers");
        Assert.Equal(["1.0", "1.1"], listed.Select(v => v["version"]!.GetValue<string>()));
        Assert.Equal([true, false], listed.Select(v => v["active"]!.GetValue<bool>()));
        var (missing, _, missingError) = await Config(_boot, "rollback", "svc_handlers", "--to", "9.9");
        Assert.Equal(1, missing);
        Assert.Contains("has no version 9.9", missingError);

        // A process started now loads the version rolled back to, secrets open.
        var app = App.Server;
        _ = app.Server;
        var configs = app.Services.GetRequiredService<AppConfigs>();
        Assert.Equal("1.0", configs.Get("svc_handlers")!.Version);
        Assert.Equal("sk-first-secret", configs.Handlers.For("openai.chat")["api_key"]!.GetValue<string>());
    }

    [Fact]
    public async Task ATextEndingInsideAnUnclosedBracketIsAParseErrorWithItsLine()
    {
        // YamlDotNet's scanner throws InvalidOperationException on this text, not a YamlException.
        var (exit, _, error) = await Config(_boot, "push", File("broken.yaml", "discord:\n  max_per_minute: [10\nalerts: {\n"), "--id", "recon");
        Assert.Equal(1, exit);
        Assert.Contains("broken.yaml:4:1: the text ends inside an unclosed [ or {", error);
        Assert.DoesNotContain("InvalidOperationException", error);
    }

    [Fact]
    public async Task APulledDocumentImportsWithEncryptedAndLoadsTheSame()
    {
        await Push(File("h1.yaml", HandlersV1), "svc_handlers");
        var (_, pulled, _) = await Config(_boot, "pull", "svc_handlers");
        var file = File("pulled.yaml", pulled);

        var (plain, _, plainError) = await Config(_boot, "push", file, "--id", "svc_handlers");
        Assert.Equal(1, plain);
        Assert.Contains("already a Fernet token", plainError);

        var imported = await Push(file, "svc_handlers", "--encrypted", "--version", "2.0");
        Assert.Equal("2.0", imported["version"]!.GetValue<string>());
        var (_, again, _) = await Config(_boot, "pull", "svc_handlers");
        Assert.Equal(pulled, again);

        // Tokens under a key this bootstrap does not have are refused at import.
        var stranger = App.Store.WriteBootstrap("stranger.yaml", "", $"fernet_key: {Fernet.GenerateKey()}");
        var (refused, _, refusedError) = await Config(stranger, "push", file, "--id", "svc_handlers", "--encrypted");
        Assert.Equal(1, refused);
        Assert.Contains("wrong key or corrupted value at svc_handlers.openai.api_key", refusedError);
    }

    [Fact]
    public async Task RotateKeyPutsEveryVersionAndPanelKeyUnderTheNewKey()
    {
        await Push(File("h1.yaml", HandlersV1), "svc_handlers");
        await Push(File("h2.yaml", HandlersV1.Replace("sk-first-secret", "sk-second-secret")), "svc_handlers");
        await Push(File("api.yaml", "max_attempts: 4\n"), "api");
        var newKey = Fernet.GenerateKey();
        var both = App.Store.WriteBootstrap("both.yaml", "", "fernet_keys:", $"  - {newKey}", $"  - {_key}");
        var newOnly = App.Store.WriteBootstrap("new.yaml", "", $"fernet_key: {newKey}");

        // A panel key (Admin/Panel/PanelKeyRing.cs) sealed under the old key, as serve stores them.
        var secret = "<masterKey><value>the panel key</value></masterKey>";
        var sealedKey = new MultiFernet([new Fernet(_key)]).Encrypt(System.Text.Encoding.UTF8.GetBytes(secret));
        await App.Store.Store.WriteAsync(c => c.Execute(
            "INSERT INTO panel_keys (name, xml, created_at) VALUES ('key-1', @xml, 0)",
            ("@xml", $"<key id=\"1\"><descriptor><encryptedSecret decryptorType=\"FernetXmlDecryptor\"><fernet>{sealedKey}</fernet></encryptedSecret></descriptor></key>")));

        var (before, _, _) = await Config(newOnly, "show", "svc_handlers", "--version", "1.0", "--reveal");
        Assert.Equal(1, before);
        var (exit, output, error) = await Config(both, "rotate-key");
        Assert.True(exit == 0, error);
        Assert.Equal(3, JsonNode.Parse(output)!["versions"]!.GetValue<int>());
        Assert.Equal(2, JsonNode.Parse(output)!["rewritten"]!.GetValue<int>());
        Assert.Equal(1, JsonNode.Parse(output)!["panel_keys"]!.GetValue<int>());
        var resealed = System.Xml.Linq.XElement.Parse(App.Store.Query(c => c.Scalar<string>("SELECT xml FROM panel_keys"))!).Descendants("fernet").Single().Value;
        Assert.Equal(secret, System.Text.Encoding.UTF8.GetString(new MultiFernet([new Fernet(newKey)]).Decrypt(resealed)));

        var (_, first, _) = await Config(newOnly, "show", "svc_handlers", "--version", "1.0", "--reveal");
        var (_, second, _) = await Config(newOnly, "show", "svc_handlers", "--reveal");
        Assert.Contains("sk-first-secret", first);
        Assert.Contains("sk-second-secret", second);
        var (old, _, oldError) = await Config(_boot, "show", "svc_handlers", "--reveal");
        Assert.Equal(1, old);
        Assert.Contains("wrong key or corrupted value at svc_handlers.openai", oldError);
        Assert.Equal(3, (await List()).Count);
    }

    [Fact]
    public async Task ConcurrentPushesFromTwoProcessesLoseNoVersion()
    {
        var file = File("api.yaml", "max_attempts: 2\n");
        var timeout = TimeSpan.FromSeconds(60);
        Task<(int Exit, string Out, string Err)> Process(params string[] args) =>
            Infrastructure.Cli.RunProcess(timeout, ["config", "push", file, "--id", "api", .. args, "--config", _boot]);

        // The same version from both: one wins, the other is told it exists.
        var race = await Task.WhenAll(Process("--version", "5.0"), Process("--version", "5.0"));
        Assert.Equal([0, 1], race.Select(r => r.Exit).Order());
        Assert.Contains("version 5.0 exists", race.Single(r => r.Exit == 1).Err);

        // Next versions chosen by both at once: each push gets its own.
        for (var round = 0; round < 3; round++)
        {
            var both = await Task.WhenAll(Process(), Process());
            Assert.All(both, r => Assert.True(r.Exit == 0, r.Err));
        }
        var listed = await List("api");
        Assert.Equal(7, listed.Count);
        Assert.Equal(7, listed.Select(v => v["version"]!.GetValue<string>()).Distinct().Count());
        Assert.Single(listed, v => v["active"]!.GetValue<bool>());
        Assert.Equal("5.6", listed.Single(v => v["active"]!.GetValue<bool>())["version"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnInvalidResourceMapIsNotPushedAndAValidOneLoads()
    {
        var bad = File("bad.yaml", """
            resource_map:
              openai: {max_concurent: 8, on_exhausted: maybe, period: soon, rpm: -1}
              "bad name": {}
            """);
        var (exit, _, error) = await Config(_boot, "push", bad, "--id", "resource_map");
        Assert.Equal(1, exit);
        Assert.Contains("resource_map.openai.max_concurent is not a known setting", error);
        Assert.Contains("resource_map.openai.on_exhausted must be wait or reject", error);
        Assert.DoesNotContain("maybe", error); // the value may be a secret: errors name the path only
        Assert.Contains("resource_map.openai.period must be a duration", error);
        Assert.Contains("resource_map.openai.rpm must be between 1 and", error);
        Assert.Contains("resource_map.bad name: a resource name", error);
        Assert.Empty(await List());

        await Push(File("good.yaml", """
            resource_map:
              openai: {max_concurrent: 8, rpm: 600, credits: 100000, period: 1d, on_exhausted: wait, lease_s: 60}
              images: {max_concurrent: !ENV "${IMAGES_MAX:2}", on_exhausted: reject}
            """), "resource_map");
        var app = App.Server;
        _ = app.Server;
        var resources = app.Services.GetRequiredService<AppConfigs>().Resources.Resources;
        Assert.Equal(8, resources["openai"].MaxConcurrent);
        Assert.Equal(TimeSpan.FromDays(1), resources["openai"].Period);
        Assert.Equal(2, resources["images"].MaxConcurrent);
        Assert.Equal(OnExhausted.Reject, resources["images"].OnExhausted);
    }

    [Fact]
    public async Task APinnedVersionThatIsNotStoredStopsTheStartNamingIt()
    {
        await Push(File("api.yaml", "max_attempts: 2\n"), "api");
        var pinnedMissing = App.Store.WriteBootstrap("pinned.yaml", "ids: {api: 3.0}", $"fernet_key: {_key}");
        var unknownId = App.Store.WriteBootstrap("unknown.yaml", "ids: {api: 1.0, billing: 1.0}", $"fernet_key: {_key}");

        var (exit, _, error) = await Infrastructure.Cli.RunProcess(TimeSpan.FromSeconds(60), "serve", "--urls", "http://127.0.0.1:0", "--config", pinnedMissing);
        Assert.Equal(1, exit);
        Assert.Contains("meta.ids names version 3.0 of config 'api', which is not in the store (it has 1.0)", error);
        Assert.DoesNotContain("   at ", error);

        (exit, _, error) = await Infrastructure.Cli.RunProcess(TimeSpan.FromSeconds(60), "serve", "--urls", "http://127.0.0.1:0", "--config", unknownId);
        Assert.Equal(1, exit);
        Assert.Contains("meta.ids names config 'billing', which is not in the store", error);
    }

    [Fact]
    public async Task ARunningProcessFollowsTheActiveVersionUnlessPinned()
    {
        await Push(File("api1.yaml", "max_body_bytes: 100000\n"), "api");
        var pinned = App.Store.WriteBootstrap("pinned.yaml", "ids: {api: 1.0}", $"fernet_key: {_key}");
        var (_, key) = await Infrastructure.Cli.CreateUser(App.Store, "ada", 100);
        await App.ApplyCatalogAsync(TestCatalogs.OnEchoRender("""
            offers:
              - {service: text, action: say, handler: echo.render, price: 1, prompt_template: "Say {word}"}
            """));
        var live = App.Server;
        await using var fixedApp = new SwitchboardFactory(App.Store, new() { ["Switchboard:Config"] = pinned });
        var liveClient = live.ClientFor(key);
        var fixedClient = fixedApp.ClientFor(key);
        var body = new { word = new string('x', 600) };
        Assert.Equal(HttpStatusCode.Accepted, (await liveClient.PostAsJsonAsync("/svc/text/say/", body)).StatusCode);

        await Push(File("api2.yaml", "max_body_bytes: 300\n"), "api", "--comment", "tighter");

        var response = await Wait.For(() => liveClient.PostAsJsonAsync("/svc/text/say/", new { word = new string('y', 600) }),
            r => r.StatusCode == HttpStatusCode.RequestEntityTooLarge, TimeSpan.FromSeconds(10), "the tighter body limit");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("1.1", live.Services.GetRequiredService<AppConfigs>().Get("api")!.Version);
        Assert.Equal(HttpStatusCode.Accepted, (await fixedClient.PostAsJsonAsync("/svc/text/say/", new { word = new string('z', 600) })).StatusCode);
        Assert.Equal("1.0", fixedApp.Services.GetRequiredService<AppConfigs>().Get("api")!.Version);

        // A rollback reaches the running process too.
        await Config(_boot, "rollback", "api", "--to", "1.0");
        await Wait.ForValue(() => live.Services.GetRequiredService<AppConfigs>().Get("api")!.Version, "1.0", TimeSpan.FromSeconds(10), "the loaded api version");
        Assert.Equal(100000, live.Services.GetRequiredService<AppConfigs>().Api.MaxBodyBytes);

        // A version this process cannot open (another key) is not loaded: the previous one stays.
        var stranger = App.Store.WriteBootstrap("stranger.yaml", "", $"fernet_key: {Fernet.GenerateKey()}");
        var (exit, _, error) = await Config(stranger, "push", File("api3.yaml", "max_body_bytes: 300\n~note: other key\n"), "--id", "api");
        Assert.True(exit == 0, error);
        // Time passes on purpose: the stranger's version must NOT be loaded at the next polls.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal("1.0", live.Services.GetRequiredService<AppConfigs>().Get("api")!.Version);
        Assert.Equal(HttpStatusCode.Accepted, (await liveClient.PostAsJsonAsync("/svc/text/say/", new { word = new string('w', 600) })).StatusCode);
    }

    [Fact]
    public async Task HandlersReadTheirSecretsFromSvcHandlersAndTheServiceMapGatesThem()
    {
        await using var fake = await FakeOpenAi.StartAsync();
        await Push(File("h.yaml", $"""
            openai:
              base_url: {fake.BaseUrl}
              ~api_key: sk-from-config
            """), "svc_handlers");
        var (userId, key) = await Infrastructure.Cli.CreateUser(App.Store, "ada", 100);
        await App.ApplyCatalogAsync("""
            handlers:
              - {id: openai.chat, credits: 1}
              - {id: echo.render, credits: 1}
            offers:
              - {service: chat, action: ask, handler: openai.chat, price: 1, prompt_template: "Q {q}", params: {model: m}}
              - {service: text, action: say, handler: echo.render, price: 1, prompt_template: "Say {q}"}
            """);
        var app = App.Server;
        var client = app.ClientFor(key);

        var id = await SwitchboardFactory.IdOf(await client.PostAsJsonAsync("/svc/chat/ask/", new { q = "hi" }));
        var done = await SwitchboardFactory.WaitForEnd(client, id);
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal("Bearer sk-from-config", fake.Calls.Single().Header("Authorization"));

        await Push(File("services.yaml", "installed: [echo]\n"), "service_map");
        var refused = await Wait.For(() => client.PostAsJsonAsync("/svc/chat/ask/", new { q = "again" }),
            r => r.StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(10), "the uninstalled handler to be refused");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal("handler_not_installed", (await refused.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
        // Refused before any charge; the installed module's offers still sell.
        var balance = Ledger.Balance(App.Store, userId);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.PostAsJsonAsync("/svc/chat/ask/", new { q = "once more" })).StatusCode);
        Assert.Equal(balance, Ledger.Balance(App.Store, userId));
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsJsonAsync("/svc/text/say/", new { q = "x" })).StatusCode);
        Assert.Equal(balance - 1, Ledger.Balance(App.Store, userId));
    }

    [Fact]
    public async Task AJobWhoseHandlerIsUninstalledBeforeItRunsFailsAndIsRefunded()
    {
        var (userId, key) = await Infrastructure.Cli.CreateUser(App.Store, "ada", 10);
        await App.ApplyCatalogAsync(TestCatalogs.OnEchoRender("""
            offers:
              - {service: text, action: flaky, handler: echo.render, price: 3, prompt_template: "Eventually {q}", params: {fail_times: 1}}
            """));
        // The first attempt fails (transiently); the retry waits long enough to uninstall echo.
        await using var app = new SwitchboardFactory(App.Store, new()
        {
            ["Switchboard:Config"] = _boot,
            ["Switchboard:RetryBaseDelay"] = "00:00:03",
            ["Switchboard:RetryMaxDelay"] = "00:00:03",
        });
        var client = app.ClientFor(key);
        var id = await SwitchboardFactory.IdOf(await client.PostAsJsonAsync("/svc/text/flaky/", new { q = "x" }));
        var request = await client.WaitForRequest(id, r => r["status"]!.GetValue<string>() == "queued" && r["attempts"]!.GetValue<int>() == 1, TimeSpan.FromSeconds(10));
        Assert.Equal("queued", request["status"]!.GetValue<string>());
        Assert.Equal(7, Ledger.Balance(App.Store, userId));

        await Push(File("services.yaml", "installed: [openai]\n"), "service_map");

        var done = await SwitchboardFactory.WaitForEnd(client, id, TimeSpan.FromSeconds(20));
        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Equal("handler_not_installed", done["error"]!["code"]!.GetValue<string>());
        Assert.Equal(10, Ledger.Balance(App.Store, userId));
        Ledger.AssertBalanced(App.Store);
    }

    [Fact]
    public async Task BadCommandsAreClearErrors()
    {
        var file = File("api.yaml", "max_attempts: 2\n");
        await Push(file, "api");
        var cases = new (string[] Args, int Exit, string Message)[]
        {
            (["push", Path.Combine(App.Store.Path, "missing.yaml"), "--id", "api"], 1, "missing.yaml: cannot read it"),
            (["push", file], 2, "Option '--id' is required."),
            (["push", file, "--id", "bad id!"], 1, "'bad id!' is not a config id"),
            (["push", file, "--id", "api", "--version", "1 0"], 1, "'1 0' is not a version"),
            (["push", File("broken.yaml", "a: [1,\n"), "--id", "api"], 1, "broken.yaml:2:1:"),
            (["push", File("big.yaml", "max_attempts: 1000\n"), "--id", "api"], 1, "api.max_attempts must be between 1 and 100"),
            (["frob"], 2, "Unrecognized command or argument 'frob'"),
            (["show", "nothing"], 1, "config 'nothing' has no active version"),
            (["show", "api", "--version", "7.0"], 1, "config 'api' has no version 7.0"),
            (["diff", "api", "1.0", "9.9"], 1, "config 'api' has no version 9.9"),
            (["rollback", "api"], 2, "Option '--to' is required."),
        };
        foreach (var (args, exit, message) in cases)
        {
            var (code, _, error) = await Config(_boot, args);
            Assert.True(exit == code, $"config {string.Join(' ', args)}: exit {code}, {error}");
            Assert.Contains(message, error);
            Assert.DoesNotContain("   at ", error);
        }
        Assert.Single(await List());
    }

    [Fact]
    public async Task TheCollectionNamedInTheBootstrapHoldsTheConfigs()
    {
        var custom = App.Store.WriteBootstrap("custom.yaml", "collection: app_configs", $"fernet_key: {_key}");
        var (exit, _, error) = await Config(custom, "push", File("api.yaml", "max_attempts: 2\n"), "--id", "api");
        Assert.True(exit == 0, error);

        Assert.Equal(1L, App.Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM app_configs")));
        var (_, other, _) = await Config(_boot, "list");
        Assert.Equal("", other);
    }
}

public sealed class ConfigCommandTestsOnSqlite() : ConfigCommandTests(StoreKind.Sqlite);

public sealed class ConfigCommandTestsOnPostgres() : ConfigCommandTests(StoreKind.Postgres);
