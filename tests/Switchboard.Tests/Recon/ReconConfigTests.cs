using Switchboard.Config;

namespace Switchboard.Tests.Recon;

/// <summary>The <c>recon</c> config: defaults, and a push that names each bad key without showing the webhook.</summary>
public sealed class ReconConfigTests : AppTests
{
    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(StoreKind.Sqlite);

    private async Task<(int Exit, string Out, string Err)> Push(string yaml)
    {
        var file = Path.Combine(App.Store.Path, $"recon-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, yaml);
        return await App.CliAsync("config", "push", file, "--id", "recon");
    }

    [Fact]
    public void AnEmptyConfigMeansTheDefaults()
    {
        var errors = new List<string>();
        var config = ReconConfig.Read([], errors);
        Assert.Empty(errors);
        Assert.Null(config.DiscordWebhook);
        Assert.Equal(AlertThresholds.Defaults, config.Alerts);
        Assert.Equal(TimeSpan.FromSeconds(30), config.Alerts.NoExecutor);
        Assert.Equal(90, config.Alerts.BudgetPercent);
    }

    [Fact]
    public void EveryThresholdIsRead()
    {
        var errors = new List<string>();
        var config = ReconConfig.Read((JsonObject)JsonNode.Parse("""
            {"discord": {"webhook": "https://discord.example/api/webhooks/1/x", "max_per_minute": 5},
             "alerts": {"no_executor_s": 10, "oldest_queued_s": 60, "error_rate": {"percent": 5, "window_s": 120, "min_calls": 3},
                        "budget_percent": 80, "unreachable_s": 7, "repairs_per_min": 9}}
            """)!, errors);
        Assert.Empty(errors);
        Assert.Equal("https://discord.example/api/webhooks/1/x", config.DiscordWebhook);
        Assert.Equal(5, config.MaxMessagesPerMinute);
        Assert.Equal(new AlertThresholds(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60), 5, TimeSpan.FromSeconds(120), 3, 80, TimeSpan.FromSeconds(7), 9), config.Alerts);
        Assert.DoesNotContain("discord.example", config.ToString());
    }

    [Fact]
    public async Task APushNamesEveryBadKey()
    {
        var (exit, _, error) = await Push("""
            discord:
              ~webhook: https://discord.example/api/webhooks/1/very-secret
              max_per_minute: 0
            alerts:
              oldest_queued_s: -1
              error_rate: {percent: 200, window: 5}
              budget_percent: lots
              no_executor: 30
            """);
        Assert.Equal(1, exit);
        // Named by path and rule, never by value (a value may be a secret: docs/security.md).
        Assert.Contains("recon.discord.max_per_minute must be between 1 and 1000", error);
        Assert.Contains("recon.alerts.oldest_queued_s must be between 1 and 2592000", error);
        Assert.Contains("recon.alerts.error_rate.percent must be between 1 and 100", error);
        Assert.DoesNotContain("not 200", error);
        Assert.Contains("recon.alerts.error_rate.window is not a known setting", error);
        Assert.Contains("recon.alerts.budget_percent must be a whole number", error);
        Assert.Contains("recon.alerts.no_executor is not a known setting", error);
        Assert.DoesNotContain("very-secret", error);
    }

    [Fact]
    public async Task APlainWebhookThatIsNotAUrlIsRefusedWithoutShowingIt()
    {
        var (exit, _, error) = await Push("discord_webhook: not-a-url-but-secret\n");
        Assert.Equal(1, exit);
        Assert.Contains("recon.discord_webhook must be an http(s) URL", error);
        Assert.DoesNotContain("not-a-url-but-secret", error);
    }

    [Fact]
    public async Task AnEncryptedWebhookThatIsNotAUrlIsRefusedAtPushWithoutShowingIt()
    {
        var (exit, _, error) = await Push("discord:\n  ~webhook: discord.example/api/webhooks/1/no-scheme-secret\n");
        Assert.Equal(1, exit);
        Assert.Contains("recon.discord.webhook must be an http(s) URL", error);
        Assert.DoesNotContain("no-scheme-secret", error);
        // Nothing stored (the configs table is made by the first push that stores).
        Assert.Equal(0L, App.Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM sqlite_master WHERE name = 'configs'") == 0 ? 0 : c.Scalar<long>("SELECT COUNT(*) FROM configs")));
    }

    [Fact]
    public async Task AGoodConfigIsStoredWithItsWebhookEncrypted()
    {
        var (exit, output, error) = await Push("discord:\n  ~webhook: https://discord.example/api/webhooks/1/very-secret\nalerts: {no_executor_s: 60}\n");
        Assert.True(exit == 0, error);
        Assert.Equal(1, JsonNode.Parse(output)!["secrets"]!.GetValue<int>());
        var stored = App.Store.Query(c => c.Scalar<string>("SELECT content FROM configs WHERE config_id = 'recon'"))!;
        Assert.DoesNotContain("very-secret", stored);
    }
}
