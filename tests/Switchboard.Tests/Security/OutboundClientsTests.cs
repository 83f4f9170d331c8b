using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Config;
using Switchboard.Recon;

namespace Switchboard.Tests.Security;

/// <summary>
/// Every outbound client goes through the guard with the process's settings: the Discord
/// notifier and openai.chat refuse a loopback address by default; endpoint profiles change only
/// by the operator (the admin API refuses a rollback that would change them, the CLI does not).
/// </summary>
public sealed class OutboundClientsTests : IAsyncLifetime
{
    private FakeOpenAi _fake = null!;

    public async Task InitializeAsync() => _fake = await FakeOpenAi.StartAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    [Fact]
    public async Task TheDiscordNotifierRefusesALoopbackWebhookWithTheDefaultSettings()
    {
        var config = ReconConfig.Defaults with { DiscordWebhook = _fake.Address + "/api/webhooks/1/token" };
        using var notifier = new DiscordNotifier(() => config, NullLogger<DiscordNotifier>.Instance);
        await notifier.StartAsync(CancellationToken.None);
        try
        {
            notifier.Post(new AlertNotice(true, "queue_depth", "global", "deep queue", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));

            await Wait.Until(() => notifier.Refused > 0, TimeSpan.FromSeconds(20), "the notice to be refused");
            Assert.Equal(0, notifier.Delivered);
            Assert.Empty(_fake.Calls);
        }
        finally
        {
            await notifier.StopAsync(CancellationToken.None);
        }
    }

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task OpenAiChatToALoopbackProfileFailsPermanentlyAndRefundsWithTheDefaultSettings(StoreKind kind)
    {
        await using var store = TestStore.Create(kind);
        await Infrastructure.Cli.PushOpenAiEndpoint(store, _fake.BaseUrl.Replace("127.0.0.1", "localhost"));
        await Infrastructure.Cli.ApplyCatalog(store, """
            handlers:
              - {id: openai.chat, credits: 1}
            offers:
              - {service: chat, action: ask, handler: openai.chat, price: 7, prompt_template: "Q {q}", params: {model: m}}
            """);
        var (userId, key) = await Infrastructure.Cli.CreateUser(store, "alice", 100);
        // The process's own setting, not the test default: loopback refused.
        await using var app = new SwitchboardFactory(store, new() { ["Switchboard:Outbound:AllowLoopback"] = "false" });
        using var client = app.ClientFor(key);

        var id = await SwitchboardFactory.IdOf(await client.PostAsJsonAsync("/svc/chat/ask/", new { q = "x" }));
        var done = await SwitchboardFactory.WaitForEnd(client, id, TimeSpan.FromSeconds(20));

        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Equal("upstream_address_refused", done["error"]!["code"]!.GetValue<string>());
        Assert.Equal(1, done["attempts"]!.GetValue<int>());
        Assert.DoesNotContain("localhost", done.ToJsonString());
        Assert.DoesNotContain("127.0.0.1", done.ToJsonString());
        Assert.Empty(_fake.Calls);
        Assert.Equal(100, Ledger.Balance(store, userId));
        Ledger.AssertBalanced(store);
    }

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task AnAdminCannotRollBackEndpointProfilesButTheOperatorCan(StoreKind kind)
    {
        await using var store = TestStore.Create(kind);
        await Infrastructure.Cli.PushConfig(store, "svc_handlers", "openai:\n  base_url: https://api.openai.com/v1\n  api_key_env: OPENAI_API_KEY\n");
        await Infrastructure.Cli.PushConfig(store, "svc_handlers", "openai:\n  base_url: https://api.openai.com/v1\n  api_key_env: OPENAI_API_KEY\n  organization: acme\n");
        await Infrastructure.Cli.PushConfig(store, "svc_handlers", "openai:\n  base_url: https://attacker.example/v1\n  api_key_env: OPENAI_API_KEY\n");
        var root = await Infrastructure.Cli.Json(store, "users", "create", "root", "--admin");
        await using var app = new SwitchboardFactory(store);
        using var admin = app.ClientFor(root["api_key"]!.GetValue<string>());

        // 1.2 (a new host) back to 1.1: the host changes, so it is the operator's call.
        var refused = await admin.PostAsJsonAsync("/admin/api/configs/svc_handlers/rollback", new { to = "1.1" });
        var problem = await refused.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(403, (int)refused.StatusCode);
        Assert.Equal("endpoint_profiles_operator_only", problem!["code"]!.GetValue<string>());
        Assert.Equal("1.2", await Active(store));

        var (exit, _, error) = await Infrastructure.Cli.Run(store, "config", "rollback", "svc_handlers", "--to", "1.1");
        Assert.True(exit == 0, error);
        Assert.Equal("1.1", await Active(store));

        // 1.1 to 1.0 changes no endpoint: an admin may.
        var allowed = await admin.PostAsJsonAsync("/admin/api/configs/svc_handlers/rollback", new { to = "1.0" });
        Assert.Equal(200, (int)allowed.StatusCode);
        Assert.Equal("1.0", await Active(store));
    }

    private static async Task<string?> Active(TestStore store)
    {
        var (exit, output, error) = await Infrastructure.Cli.Run(store, "config", "list", "svc_handlers");
        Assert.True(exit == 0, error);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject())
            .SingleOrDefault(v => v["active"]?.GetValue<bool>() == true)?["version"]?.GetValue<string>();
    }
}
