using Switchboard.Config;

namespace Switchboard.Tests.Retention;

/// <summary>The <c>retention</c> section of the <c>recon</c> config: defaults, limits, and a push that names each bad key.</summary>
public sealed class RetentionTests : AppTests
{
    /// <summary>The server's own passes wait an hour, so a test's pass (as of a later time) is the only one.</summary>
    public static Dictionary<string, string?> NoTimedPasses => new() { ["Switchboard:RetentionInterval"] = "01:00:00" };

    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(StoreKind.Sqlite);

    private static (RetentionConfig Config, List<string> Errors) Read(string json)
    {
        var errors = new List<string>();
        var config = ReconConfig.Read((JsonObject)JsonNode.Parse(json)!, errors);
        return (config.Retention, errors);
    }

    [Fact]
    public void WithoutTheSectionUsageMinutesAreKeptTwoWeeksDaysTwoYearsAndRequestsThirtyDays()
    {
        var (config, errors) = Read("{}");
        Assert.Empty(errors);
        Assert.Equal(new RetentionConfig(14, 730, 30), config);
        Assert.Equal(TimeSpan.FromDays(30), config.Requests);
    }

    [Fact]
    public void ZeroKeepsDaysAndRequestsForever()
    {
        var (config, errors) = Read("""{"retention": {"usage_minutes_days": 2, "usage_days_days": 0, "requests_days": 0}}""");
        Assert.Empty(errors);
        Assert.Equal(TimeSpan.FromDays(2), config.UsageMinutes);
        Assert.Null(config.UsageDays);
        Assert.Null(config.Requests);
    }

    [Fact]
    public async Task APushNamesEveryBadRetentionKey()
    {
        var file = Path.Combine(App.Store.Path, "recon.yaml");
        await File.WriteAllTextAsync(file, """
            retention:
              usage_minutes_days: 0
              usage_days_days: -1
              requests_days: lots
              requests: 5
            """);
        var (exit, _, error) = await App.CliAsync("config", "push", file, "--id", "recon");

        Assert.Equal(1, exit);
        Assert.Contains("recon.retention.usage_minutes_days must be between 2 and 3650", error);
        Assert.Contains("recon.retention.usage_days_days must be between 0 and 36500", error);
        Assert.Contains("recon.retention.requests_days must be a whole number", error);
        Assert.Contains("recon.retention.requests is not a known setting", error);
    }

    [Fact]
    public async Task DaysKeptShorterThanMinutesAreRefused()
    {
        var file = Path.Combine(App.Store.Path, "recon.yaml");
        await File.WriteAllTextAsync(file, "retention: {usage_minutes_days: 30, usage_days_days: 7}\n");
        var (exit, _, error) = await App.CliAsync("config", "push", file, "--id", "recon");

        Assert.Equal(1, exit);
        Assert.Contains("recon.retention.usage_days_days must be 0 (forever) or at least usage_minutes_days", error);
    }
}
