namespace Switchboard.Tests.Security;

/// <summary>
/// Every outbound client goes through the guard with the process's settings: openai.chat refuses
/// a loopback address by default (the Discord notifier too: <see cref="DiscordNotifierGuardTests"/>);
/// endpoint profiles change only by the operator (the admin API refuses a rollback that would
/// change them, the CLI does not). On both stores.
/// </summary>
public abstract class OutboundClientsTests(StoreKind kind)
{
    [Fact]
    public async Task OpenAiChatToALoopbackProfileFailsPermanentlyAndRefundsWithTheDefaultSettings()
    {
        // The process's own setting, not the test default: loopback refused.
        await using var app = await TestApp.StartAsync(kind, new() { ["Switchboard:Outbound:AllowLoopback"] = "false" }, catalog: """
            handlers:
              - {id: openai.chat, credits: 1}
            offers:
              - {service: chat, action: ask, handler: openai.chat, price: 7, prompt_template: "Q {q}", params: {model: m}}
            """);
        var fake = app.Own(await FakeOpenAi.StartAsync());
        await Infrastructure.Cli.PushOpenAiEndpoint(app.Store, fake.BaseUrl.Replace("127.0.0.1", "localhost"));
        var alice = await app.AddUserAsync("alice", 100);

        var id = await SwitchboardFactory.IdOf(await alice.Client.PostAsJsonAsync("/svc/chat/ask/", new { q = "x" }));
        var done = await SwitchboardFactory.WaitForEnd(alice.Client, id, TimeSpan.FromSeconds(20));

        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Equal("upstream_address_refused", done["error"]!["code"]!.GetValue<string>());
        Assert.Equal(1, done["attempts"]!.GetValue<int>());
        Assert.DoesNotContain("localhost", done.ToJsonString());
        Assert.DoesNotContain("127.0.0.1", done.ToJsonString());
        Assert.Empty(fake.Calls);
        Assert.Equal(100, alice.Balance);
        Ledger.AssertBalanced(app.Store);
    }

    [Fact]
    public async Task AnAdminCannotRollBackEndpointProfilesButTheOperatorCan()
    {
        await using var app = await TestApp.StartAsync(kind);
        var store = app.Store;
        await Infrastructure.Cli.PushConfig(store, "svc_handlers", "openai:\n  base_url: https://api.openai.com/v1\n  api_key_env: OPENAI_API_KEY\n");
        await Infrastructure.Cli.PushConfig(store, "svc_handlers", "openai:\n  base_url: https://api.openai.com/v1\n  api_key_env: OPENAI_API_KEY\n  organization: acme\n");
        await Infrastructure.Cli.PushConfig(store, "svc_handlers", "openai:\n  base_url: https://attacker.example/v1\n  api_key_env: OPENAI_API_KEY\n");
        var admin = (await app.AddAdminAsync()).Client;

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

public sealed class OutboundClientsOnSqlite() : OutboundClientsTests(StoreKind.Sqlite);

public sealed class OutboundClientsOnPostgres() : OutboundClientsTests(StoreKind.Postgres);
