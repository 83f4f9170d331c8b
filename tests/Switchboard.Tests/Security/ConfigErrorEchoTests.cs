using Switchboard.Config;

namespace Switchboard.Tests.Security;

/// <summary>
/// A config error names the key path and what it must be, never the value found there: a
/// <c>~</c> secret or an environment variable's value placed at a number, duration or choice key
/// must not reach the CLI's output, the logs or a process's start-up error.
/// </summary>
public sealed class ConfigErrorEchoTests : AppTests
{
    private const string Secret = "sk-live-4242424242";
    private const string DigitSecret = "987654321987";
    private string _boot = "";

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        _boot = app.Store.WriteBootstrap("configs.yaml", "", $"fernet_key: {Fernet.GenerateKey()}");
        return app;
    }

    private async Task<(int Exit, string Out, string Err)> Push(string id, string yaml)
    {
        var file = Path.Combine(App.Store.Path, $"{id}.yaml");
        await File.WriteAllTextAsync(file, yaml);
        return await Infrastructure.Cli.RunArgs("config", "push", file, "--id", id, "--config", _boot);
    }

    [Theory]
    [InlineData("resource_map", $"gpu:\n  ~period: \"{Secret}\"\n", "resource_map.gpu.period must be a duration")]
    [InlineData("resource_map", $"gpu:\n  ~max_concurrent: \"{DigitSecret}\"\n", "resource_map.gpu.max_concurrent must be between")]
    [InlineData("resource_map", $"gpu:\n  ~on_exhausted: \"{Secret}\"\n", "resource_map.gpu.on_exhausted must be wait or reject")]
    [InlineData("api", $"~job_timeout_s: \"{DigitSecret}\"\n", "api.job_timeout_s must be between")]
    [InlineData("recon", $"alerts:\n  ~no_executor_s: \"{Secret}\"\n", "recon.alerts.no_executor_s must be a whole number")]
    public async Task ASecretAtTheWrongKeyIsNamedByPathNotShown(string id, string yaml, string expected)
    {
        var (exit, output, error) = await Push(id, yaml);

        Assert.Equal(1, exit);
        Assert.Contains(expected, error);
        Assert.DoesNotContain(Secret, output + error);
        Assert.DoesNotContain(DigitSecret, output + error);
    }

    [Fact]
    public void AnEnvironmentValueAtADurationKeyIsNotShownWhenLoaded()
    {
        var values = ConfigProtocol.Unwrap(ResourceMap.Id, ConfigProtocol.Load(
            "gpu:\n  period: !ENV ${SB_EDGE_SECRET}\n", "test.yaml", new ConfigProtocol.Reading(ResourceMap.Id, null), name => name == "SB_EDGE_SECRET" ? Secret : null));
        var problems = AppConfigs.Validate(ResourceMap.Id, values);

        Assert.Contains(problems, p => p.Contains("resource_map.gpu.period must be a duration", StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.Contains(Secret, StringComparison.Ordinal));
    }
}
