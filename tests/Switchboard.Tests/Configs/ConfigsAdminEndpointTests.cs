using Switchboard.Config;

namespace Switchboard.Tests.Configs;

/// <summary>
/// Configs in the admin JSON API on SQLite and PostgreSQL: ids, versions, a version masked, the
/// diff (secrets never shown), rollback with its record of who did it, and each bad input.
/// </summary>
public abstract class ConfigsAdminEndpointTests(StoreKind kind) : AppTests
{
    private const string SecretOne = "sk-first-secret";
    private const string SecretTwo = "sk-second-secret";

    private const string HandlersV1 = $"""
        openai:
          base_url: http://127.0.0.1:1/v1
          ~api_key: {SecretOne}
        """;

    private string _boot = "";
    private HttpClient _admin = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind);
        _boot = app.Store.WriteBootstrap("configs.yaml", "", $"fernet_key: {Fernet.GenerateKey()}");
        await Push(app.Store, HandlersV1, "--comment", "first keys", "--author", "alice");
        await Push(app.Store, HandlersV1.Replace(SecretOne, SecretTwo).Replace("127.0.0.1:1", "127.0.0.1:2"), "--author", "bob");
        var admin = await Infrastructure.Cli.Json(app.Store, "users", "create", "root", "--admin", "--config", _boot);
        app.Settings["Switchboard:Config"] = _boot;
        _admin = app.ClientFor(admin["api_key"]!.GetValue<string>());
        return app;
    }

    private Task Push(string yaml, params string[] more) => Push(App.Store, yaml, more);

    private async Task Push(TestStore store, string yaml, params string[] more)
    {
        var file = Path.Combine(store.Path, $"h-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, yaml);
        var (exit, _, error) = await Infrastructure.Cli.RunArgs(["config", "push", file, "--id", "svc_handlers", .. more, "--config", _boot]);
        Assert.True(exit == 0, error);
    }

    private async Task<(int Status, JsonObject Body)> Get(string path)
    {
        var response = await _admin.GetAsync(path);
        return ((int)response.StatusCode, (await response.Content.ReadFromJsonAsync<JsonObject>())!);
    }

    [Fact]
    public async Task TheIdsListTheirActiveAndLoadedVersions()
    {
        var (status, body) = await Get("/admin/api/configs");
        Assert.Equal(200, status);
        var configs = body["configs"]!.AsArray().Select(c => c!.AsObject()).ToDictionary(c => c["id"]!.GetValue<string>());
        Assert.Equal(AppConfigs.KnownIds.Order(), configs.Keys.Order());
        var handlers = configs["svc_handlers"];
        Assert.Equal("1.1", handlers["active_version"]!.GetValue<string>());
        Assert.Equal("1.1", handlers["loaded_version"]!.GetValue<string>());
        Assert.Equal(2, handlers["versions"]!.GetValue<int>());
        Assert.Equal("bob", handlers["last_change"]!["author"]!.GetValue<string>());
        Assert.Null(configs["api"]["active_version"]);
        Assert.Equal(0, configs["api"]["versions"]!.GetValue<int>());
    }

    [Fact]
    public async Task VersionsShowAuthorTimeAndCommentAndTheirTextMasked()
    {
        var (status, body) = await Get("/admin/api/configs/svc_handlers");
        Assert.Equal(200, status);
        var versions = body["versions"]!.AsArray();
        Assert.Equal(["1.0", "1.1"], versions.Select(v => v!["version"]!.GetValue<string>()));
        Assert.Equal("alice", versions[0]!["author"]!.GetValue<string>());
        Assert.Equal("first keys", versions[0]!["comment"]!.GetValue<string>());
        Assert.Equal([false, true], versions.Select(v => v!["active"]!.GetValue<bool>()));

        var (shown, version) = await Get("/admin/api/configs/svc_handlers/versions/1.0");
        Assert.Equal(200, shown);
        var content = version["content"]!.GetValue<string>();
        Assert.Contains("~api_key: " + ConfigProtocol.Mask, content);
        Assert.Contains("http://127.0.0.1:1/v1", content);
        Assert.DoesNotContain("sk-", content);
        Assert.DoesNotContain("gAAAAA", content); // Not even the token.
    }

    [Fact]
    public async Task TheDiffShowsPlainChangesAndOnlyThatASecretChanged()
    {
        var response = await _admin.GetAsync("/admin/api/configs/svc_handlers/diff?from=1.0&to=1.1");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(200, (int)response.StatusCode);
        Assert.DoesNotContain("sk-", text);
        var changes = JsonNode.Parse(text)!["changes"]!.AsArray().Select(c => c!.AsObject()).ToDictionary(c => c["path"]!.GetValue<string>());
        Assert.Equal("~", changes["svc_handlers.openai.api_key"]["op"]!.GetValue<string>());
        Assert.True(changes["svc_handlers.openai.api_key"]["secret"]!.GetValue<bool>());
        Assert.Null(changes["svc_handlers.openai.api_key"]["before"]);
        Assert.Equal("\"http://127.0.0.1:1/v1\"", changes["svc_handlers.openai.base_url"]["before"]!.GetValue<string>());
        Assert.Equal("\"http://127.0.0.1:2/v1\"", changes["svc_handlers.openai.base_url"]["after"]!.GetValue<string>());
    }

    [Fact]
    public async Task RollbackActivatesTheVersionAndTheProcessLoadsIt()
    {
        // An admin may roll back svc_handlers only between versions with the same endpoint
        // profiles (1.1 has another host and key: the operator's to undo): 1.2 has 1.0's.
        await Push(HandlersV1 + "\n  organization: acme\n", "--author", "carol");
        var response = await _admin.PostAsJsonAsync("/admin/api/configs/svc_handlers/rollback", new { to = "1.0" });
        Assert.Equal(200, (int)response.StatusCode);
        var (_, body) = await Get("/admin/api/configs/svc_handlers");
        Assert.Equal([true, false, false], body["versions"]!.AsArray().Select(v => v!["active"]!.GetValue<bool>()));
        // Who made which version active, newest first: the three pushes, then root's rollback.
        var history = body["history"]!.AsArray().Select(a => a!.AsObject()).ToList();
        Assert.Equal(
            [("1.0", "1.2", "rollback", "root"), ("1.2", "1.1", "push", "carol"), ("1.1", "1.0", "push", "bob"), ("1.0", null, "push", "alice")],
            history.Select(a => (a["version"]!.GetValue<string>(), a["previous"]?.GetValue<string>(), a["action"]!.GetValue<string>(), a["actor"]!.GetValue<string>())));
        Assert.All(history, a => Assert.NotNull(a["at"]));
        var loaded = await Wait.ForValue(async () =>
        {
            var (_, list) = await Get("/admin/api/configs");
            return list["configs"]!.AsArray().Single(c => c!["id"]!.GetValue<string>() == "svc_handlers")!["loaded_version"]!.GetValue<string>();
        }, "1.0", TimeSpan.FromSeconds(10), "the loaded svc_handlers version");
        Assert.Equal("1.0", loaded);
    }

    [Theory]
    [InlineData("GET", "/admin/api/configs/no_such_id", null, 404, "config_not_found")]
    [InlineData("GET", "/admin/api/configs/svc_handlers/versions/9.9", null, 404, "version_not_found")]
    [InlineData("GET", "/admin/api/configs/svc_handlers/diff?from=1.0", null, 400, "invalid_diff")]
    [InlineData("GET", "/admin/api/configs/svc_handlers/diff?from=1.0&to=9.9", null, 404, "version_not_found")]
    [InlineData("POST", "/admin/api/configs/svc_handlers/rollback", "{\"to\": \"9.9\"}", 404, "version_not_found")]
    [InlineData("POST", "/admin/api/configs/svc_handlers/rollback", "{\"to\": 1}", 400, "invalid_json")]
    [InlineData("POST", "/admin/api/configs/svc_handlers/rollback", "{\"to\": \"1.0\", \"x\": 1}", 400, "invalid_json")]
    [InlineData("POST", "/admin/api/configs/svc_handlers/rollback", "not json", 400, "invalid_json")]
    public async Task BadInputGetsAProblemAndChangesNothing(string method, string path, string? body, int status, string code)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }
        var response = await _admin.SendAsync(request);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(code, (await response.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
        var (_, versions) = await Get("/admin/api/configs/svc_handlers");
        Assert.Equal([false, true], versions["versions"]!.AsArray().Select(v => v!["active"]!.GetValue<bool>()));
    }
}

public sealed class ConfigsAdminEndpointTestsOnSqlite() : ConfigsAdminEndpointTests(StoreKind.Sqlite);

public sealed class ConfigsAdminEndpointTestsOnPostgres() : ConfigsAdminEndpointTests(StoreKind.Postgres);
