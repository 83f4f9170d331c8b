using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Storage;
using Switchboard.Tests.Distributed;
using Switchboard.Tests.Infrastructure;
using static Switchboard.Tests.Health.HealthJson;

namespace Switchboard.Tests.Health;

/// <summary>
/// A credential only executors can see (<c>api_key_env</c>): an executor started without the
/// variable says so in its log (the name, never a value), its heartbeat (so <c>/admin/api/health</c>
/// and <c>/readyz</c> of the api) and recon's <c>credential_missing</c> alert; with every live
/// executor lacking it the api answers 503 <c>handler_misconfigured</c> before any charge. An
/// executor that has it (a fake OpenAI server on 127.0.0.1) makes the offer live again and a
/// request succeeds. Real processes on PostgreSQL and Redis.
/// </summary>
public sealed class ExecutorCredentialsTests() : ProcessTestBase(Catalog), IAsyncLifetime
{
    private const string Catalog = """
        handlers:
          - {id: openai.chat, credits: 1}
        offers:
          - {service: chat, action: haiku, handler: openai.chat, price: 20, prompt_template: "Write a haiku about {subject}.", params: {model: gpt-4o-mini}}
        """;

    private readonly string _variable = $"SWITCHBOARD_TEST_EXECUTOR_KEY_{TestNames.Short()}";
    private readonly string _key = $"sk-test-{Guid.NewGuid():N}";
    private FakeOpenAi _upstream = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await InitializeAsync();
        _upstream = await FakeOpenAi.StartAsync();
        _upstream.Fallback = _ => FakeReply.Choices("An old silent pond");
        await Infrastructure.Cli.PushConfig(Store, "svc_handlers", $"openai:\n  base_url: {_upstream.BaseUrl}\n  api_key_env: {_variable}\n");
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private static bool Firing(JsonObject health, string alert, string subject) =>
        health["alerts"]!["firing"] is JsonArray firing
        && firing.Any(a => a!["alert"]!.GetValue<string>() == alert && a["subject"]!.GetValue<string>() == subject);

    private static Task<JsonObject> HealthWhen(HttpClient admin, Func<JsonObject, bool> until) => admin.WaitForHealth(until, TimeSpan.FromSeconds(30));

    private static Task<HttpResponseMessage> SubmitWhen(HttpClient client, HttpStatusCode expected) =>
        Wait.For(() => client.PostAsJsonAsync("/svc/chat/haiku/", new { subject = "spring" }), r => r.StatusCode == expected,
            TimeSpan.FromSeconds(30), $"a submission answered {(int)expected}", TimeSpan.FromMilliseconds(200));

    [Fact]
    public async Task AnExecutorWithoutTheVariableReportsItEverywhereAndOneWithItMakesTheOfferLive()
    {
        var admin = await Infrastructure.Cli.Json(Store, "users", "create", "root", "--admin");
        var lacking = await Start("executor");
        var api = await Start("api");
        await Start("recon");
        using var client = api.Client(Key);
        using var root = api.Client(admin["api_key"]!.GetValue<string>());

        // Its log names the variable and what needs it: every built-in handler of the openai module reads that profile.
        Assert.True(lacking.Logged($"Environment variable {_variable} is not set on this executor: the credential of "
            + "openai.chat profile 'default', openai.embeddings profile 'default', openai.image profile 'default' cannot be sent"));
        // Its heartbeat, as /admin/api/health shows it, and recon's alert.
        var health = await HealthWhen(root, h => Firing(h, "credential_missing", _variable));
        var executor = Assert.Single(health["executors"]!["registry"]!.AsArray())!;
        Assert.Equal([_variable], executor["missing_env"]!.AsArray().Select(v => v!.GetValue<string>()));
        // The api's readiness: degraded, naming the variable and the executor.
        var (status, ready) = await WaitFor(client, "/readyz", (_, b) => Status(b) == "degraded", TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, status);
        var handlers = Component(ready, "handlers")["description"]!.GetValue<string>();
        Assert.Contains($"chat/haiku (openai.chat): endpoint profile 'default' reads its key from environment variable {_variable}, which is not set on the executors", handlers);
        Assert.Contains($"executor {executor["owner"]!.GetValue<string>()} lacks environment variable(s) {_variable}", handlers);
        // Every live executor lacks it: not sold, nothing charged or stored.
        var refused = await SubmitWhen(client, HttpStatusCode.ServiceUnavailable);
        var problem = (await refused.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("handler_misconfigured", problem["code"]!.GetValue<string>());
        Assert.DoesNotContain(_variable, problem.ToJsonString());
        Assert.Equal(10_000, Ledger.Balance(Store, UserId));
        Assert.Equal(0, Ledger.RequestCount(Store));
        Assert.DoesNotContain(_key, string.Join("\n", lacking.StdoutLines.Concat(lacking.StderrLines)));

        // An executor that has it replaces the one that does not.
        Assert.Equal(0, await lacking.Terminate(TimeSpan.FromSeconds(20)));
        var having = await Start("executor", new Dictionary<string, string> { [_variable] = _key });
        Assert.False(having.Logged($"Environment variable {_variable}"));
        var accepted = await SubmitWhen(client, HttpStatusCode.Accepted);
        var done = await SwitchboardFactory.WaitForEnd(client, await SwitchboardFactory.IdOf(accepted), TimeSpan.FromSeconds(30));
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal($"Bearer {_key}", Assert.Single(_upstream.Calls).Header("Authorization"));
        await WaitFor(client, "/readyz", (s, b) => s == HttpStatusCode.OK && Status(b) == "healthy", TimeSpan.FromSeconds(30));
        await HealthWhen(root, h => !Firing(h, "credential_missing", _variable));
        Assert.DoesNotContain(_key, string.Join("\n", having.StdoutLines.Concat(having.StderrLines)));
    }
}
