using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;
using static Switchboard.Tests.Health.HealthJson;

namespace Switchboard.Tests.Health;

/// <summary>
/// In <c>serve</c> (one process) the api knows its own executor's environment: a profile's key
/// variable that is not set makes <c>/readyz</c> degraded, shows in <c>/admin/api/health</c> and
/// fires <c>credential_missing</c>, and its offers answer 503 before any charge. Once it is set
/// and <c>svc_handlers</c> pushed again (the executor checks at start and per config change), the
/// offer is live without restart and the alert resolves.
/// </summary>
public sealed class ServeCredentialsTests : IAsyncLifetime
{
    private readonly TestStore _store = TestStore.Create(StoreKind.Sqlite);
    // Unique per test: tests of other classes run in parallel in the same process.
    private readonly string _variable = $"SWITCHBOARD_TEST_SERVE_KEY_{TestNames.Short()}";
    private readonly string _key = $"sk-test-{Guid.NewGuid():N}";
    private FakeOpenAi _upstream = null!;
    private SwitchboardFactory _app = null!;
    private HttpClient _user = null!;
    private HttpClient _admin = null!;
    private string _userId = "";

    public async Task InitializeAsync()
    {
        _upstream = await FakeOpenAi.StartAsync();
        _upstream.Fallback = _ => FakeReply.Choices("An old silent pond");
        await Infrastructure.Cli.PushConfig(_store, "svc_handlers", SvcHandlers(""));
        await Infrastructure.Cli.ApplyCatalog(_store, """
            handlers:
              - {id: openai.chat, credits: 1}
            offers:
              - {service: chat, action: haiku, handler: openai.chat, price: 20, prompt_template: "Write a haiku about {subject}.", params: {model: gpt-4o-mini}}
            """);
        (_userId, var key) = await Infrastructure.Cli.CreateUser(_store, "alice", 100);
        var admin = await Infrastructure.Cli.Json(_store, "users", "create", "root", "--admin");
        _app = new SwitchboardFactory(_store);
        _user = _app.ClientFor(key);
        _admin = _app.ClientFor(admin["api_key"]!.GetValue<string>());
    }

    public async Task DisposeAsync()
    {
        Environment.SetEnvironmentVariable(_variable, null);
        await _app.DisposeAsync();
        await _upstream.DisposeAsync();
        Ledger.AssertBalanced(_store);
        await _store.DisposeAsync();
    }

    private string SvcHandlers(string extra) => $"openai:\n  base_url: {_upstream.BaseUrl}\n  api_key_env: {_variable}\n{extra}";

    private async Task<JsonObject> HealthWhen(Func<JsonObject, bool> until)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var health = (await _admin.GetFromJsonAsync<JsonObject>("/admin/api/health"))!;
            if (until(health))
            {
                return health;
            }
            Assert.True(DateTime.UtcNow < deadline, "no such health within 20 s: " + health.ToJsonString());
            await Task.Delay(100);
        }
    }

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
        Assert.Equal(100, Ledger.Balance(_store, _userId));

        Environment.SetEnvironmentVariable(_variable, _key);
        await Infrastructure.Cli.PushConfig(_store, "svc_handlers", SvcHandlers("  organization: acme\n"));
        await WaitFor(_user, "/readyz", (s, b) => s == HttpStatusCode.OK && Status(b) == "healthy", TimeSpan.FromSeconds(10));
        var accepted = await _user.PostAsJsonAsync("/svc/chat/haiku/", new { subject = "spring" });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var done = await SwitchboardFactory.WaitForEnd(_user, await SwitchboardFactory.IdOf(accepted));
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal($"Bearer {_key}", Assert.Single(_upstream.Calls).Header("Authorization"));
        health = await HealthWhen(h => !Firing(h));
        Assert.Empty(health["executors"]!["registry"]![0]!["missing_env"]!.AsArray());
    }
}
