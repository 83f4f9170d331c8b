using static Switchboard.Tests.Health.HealthJson;

namespace Switchboard.Tests.Health;

/// <summary>
/// In <c>serve</c> (one process) the api knows its own executor's environment: a profile's key
/// variable that is not set makes <c>/readyz</c> degraded, shows in <c>/admin/api/health</c> and
/// fires <c>credential_missing</c>, and its offers answer 503 before any charge. Once it is set
/// and <c>svc_handlers</c> pushed again (the executor checks at start and per config change), the
/// offer is live without restart and the alert resolves.
/// </summary>
public sealed class ServeCredentialsTests : AppTests
{
    // Unique per test: tests of other classes run in parallel in the same process.
    private readonly string _variable = $"SWITCHBOARD_TEST_SERVE_KEY_{TestNames.Short()}";
    private readonly string _key = $"sk-test-{Guid.NewGuid():N}";
    private FakeOpenAi _upstream = null!;
    private TestUser _alice = null!;
    private HttpClient _user = null!;
    private HttpClient _admin = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        app.AtEnd(() => Environment.SetEnvironmentVariable(_variable, null));
        _upstream = app.Own(await FakeOpenAi.StartAsync());
        _upstream.Fallback = _ => FakeReply.Choices("An old silent pond");
        await app.PushConfigAsync("svc_handlers", SvcHandlers(""));
        await app.ApplyCatalogAsync("""
            handlers:
              - {id: openai.chat, credits: 1}
            offers:
              - {service: chat, action: haiku, handler: openai.chat, price: 20, prompt_template: "Write a haiku about {subject}.", params: {model: gpt-4o-mini}}
            """);
        _alice = await app.AddUserAsync("alice", 100);
        _user = _alice.Client;
        _admin = (await app.AddAdminAsync()).Client;
        return app;
    }

    private string SvcHandlers(string extra) => $"openai:\n  base_url: {_upstream.BaseUrl}\n  api_key_env: {_variable}\n{extra}";

    private Task<JsonObject> HealthWhen(Func<JsonObject, bool> until) => _admin.WaitForHealth(until, TimeSpan.FromSeconds(20));

    private bool Firing(JsonObject health) =>
        health["alerts"]!["firing"] is JsonArray firing && firing.Any(a => a!["alert"]!.GetValue<string>() == "credential_missing" && a["subject"]!.GetValue<string>() == _variable);

    [Fact]
    public async Task AMissingVariableIsReportedAndRefusedUntilItIsSetAndTheConfigPushedAgain()
    {
        var (status, ready) = await Get(_user, "/readyz");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("degraded", Status(ready));
        Assert.Contains($"executor of this process lacks environment variable(s) {_variable}", Component(ready, "handlers")["description"]!.GetValue<string>());

        var health = await HealthWhen(Firing);
        var executor = Assert.Single(health["executors"]!["registry"]!.AsArray())!;
        Assert.True(executor["in_process"]!.GetValue<bool>());
        Assert.Equal([_variable], executor["missing_env"]!.AsArray().Select(v => v!.GetValue<string>()));

        var refused = await _user.PostAsJsonAsync("/svc/chat/haiku/", new { subject = "spring" });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("handler_misconfigured", (await refused.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
        Assert.Equal(100, _alice.Balance);

        Environment.SetEnvironmentVariable(_variable, _key);
        await App.PushConfigAsync("svc_handlers", SvcHandlers("  organization: acme\n"));
        await WaitFor(_user, "/readyz", (s, b) => s == HttpStatusCode.OK && Status(b) == "healthy", TimeSpan.FromSeconds(10));
        var done = await SwitchboardFactory.WaitForEnd(_user, await _user.SubmitAsync("/svc/chat/haiku/", new { subject = "spring" }));
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal($"Bearer {_key}", Assert.Single(_upstream.Calls).Header("Authorization"));
        health = await HealthWhen(h => !Firing(h));
        Assert.Empty(health["executors"]!["registry"]![0]!["missing_env"]!.AsArray());
    }
}
