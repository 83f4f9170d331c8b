using Switchboard.Config;

namespace Switchboard.Tests.Recon;

/// <summary>
/// The distributed deployment, every role its own OS process (PostgreSQL + Redis): with no
/// executor running, queued work fires <c>no_executor_for_handler</c> from the recon to a fake Discord
/// webhook; an executor starting resolves it. The <c>api</c> process answers
/// <c>GET /admin/api/health</c> from the same checks, with the alerts the recon reported to the
/// store. No log line holds the webhook.
/// </summary>
public sealed class DistributedAlertsTests : AppTests
{
    private static readonly Dictionary<string, string> Fast = new()
    {
        ["Switchboard__ReconInterval"] = "00:00:00.300",
        ["Switchboard__ReconLeaseSeconds"] = "3",
        ["Switchboard__StorePollInterval"] = "00:00:00.200",
    };

    private readonly List<SwitchboardProcess> _processes = [];
    private FakeOpenAi _discord = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Postgres, redis: true);
        app.Store.WriteBootstrap(Path.GetFileName(app.Store.ConfigPath!), "", $"fernet_key: {Fernet.GenerateKey()}");
        _discord = app.Own(await FakeOpenAi.StartAsync());
        _discord.Fallback = _ => FakeReply.Text(204, "");
        return app;
    }

    private async Task<SwitchboardProcess> Start(string role)
    {
        var process = await App.StartRoleAsync(role, [], Fast);
        _processes.Add(process);
        return process;
    }

    private static List<string> FiringHere(JsonObject health) =>
        health["alerts"]!["firing"] is JsonArray firing ? [.. firing.Select(a => a!["alert"]!.GetValue<string>())] : [];

    private static Task<JsonObject> HealthWhen(HttpClient admin, Func<JsonObject, bool> until) => admin.WaitForHealth(until, TimeSpan.FromSeconds(20));

    [Fact]
    public async Task QueuedWorkWithNoExecutorAlertsUntilOneStarts()
    {
        await App.ApplyCatalogAsync(TestCatalogs.FreeEchoSay);
        var file = Path.Combine(App.Store.Path, "recon.yaml");
        await File.WriteAllTextAsync(file, $"discord:\n  ~webhook: {_discord.Address}/api/webhooks/7/secret-token\nalerts: {{no_executor_s: 1}}\n");
        var (exit, _, error) = await App.CliAsync("config", "push", file, "--id", "recon");
        Assert.True(exit == 0, error);
        var (_, key) = await Infrastructure.Cli.CreateUser(App.Store, "alice", 10);
        var admin = (await App.CliJsonAsync("users", "create", "root", "--admin"))["api_key"]!.GetValue<string>();

        var api = await Start("api");
        await Start("recon");
        using var user = api.Client(key);
        var id = await user.SubmitAsync("/svc/echo/say/", new { n = 1 });

        var fired = await _discord.WaitForCalls(1, TimeSpan.FromSeconds(20));
        Assert.StartsWith("[FIRING] no_executor_for_handler echo.render: 1 queued requests", fired[0].Json["content"]!.GetValue<string>());

        using var root = api.Client(admin);
        // The api process runs no recon: it shows the alerts the recon reported to the store.
        var health = await HealthWhen(root, h => FiringHere(h).Contains("no_executor_for_handler"));
        Assert.Equal(0, health["executors"]!["live"]!.GetValue<int>());
        Assert.Equal(1, health["queues"]!["depth"]!.GetValue<long>());
        Assert.False(health["alerts"]!["stale"]!.GetValue<bool>());
        Assert.Equal("echo.render", health["alerts"]!["firing"]![0]!["subject"]!.GetValue<string>());
        Assert.False(health["recon"]!["in_process"]!.GetValue<bool>());
        // So does its panel's dashboard.
        await PanelSession.CreateAdmin(App.Store, "ops");
        using var panel = PanelSession.HttpClient(api.Address!, new CookieContainer());
        Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(panel, "ops", PanelSession.Password)).StatusCode);
        Assert.Contains("<li><b>no_executor_for_handler</b> echo.render<br>", await panel.GetStringAsync("/admin/"), StringComparison.Ordinal);

        await Start("executor");
        await SwitchboardFactory.WaitFor(user, id, TimeSpan.FromSeconds(20), "succeeded");
        var calls = await _discord.WaitForCalls(2, TimeSpan.FromSeconds(20));
        Assert.StartsWith("[RESOLVED] no_executor_for_handler echo.render", calls[1].Json["content"]!.GetValue<string>());
        health = await HealthWhen(root, h => FiringHere(h).Count == 0);
        Assert.Equal(1, health["executors"]!["live"]!.GetValue<int>());
        Assert.Contains("echo.render", health["executors"]!["registry"]![0]!["handlers"]!.AsArray().Select(h => h!.GetValue<string>()));

        await Task.Delay(500); // time passes on purpose: no third message may come
        Assert.Equal(2, _discord.Calls.Count);
        Assert.Contains(_processes, p => p.Role == "recon" && p.Logged("Alert no_executor_for_handler firing for echo.render"));
        Assert.DoesNotContain(_processes.SelectMany(p => p.Logs), line => line.ToJsonString().Contains("secret-token", StringComparison.Ordinal));
    }
}
