using Switchboard.Config;
using Switchboard.Recon;

namespace Switchboard.Tests.Webhooks;

/// <summary><c>webhook_backlog</c>: fires at once when the oldest undelivered event is older than <c>alerts.webhook_backlog_s</c>.</summary>
public sealed class WebhookBacklogAlertTests
{
    private static List<AlertCondition> Check(double? oldest, AlertThresholds thresholds) =>
        AlertRules.Check(new HealthSnapshot(0, [], [], [], [new DependencyInfo("store", true, 0.001, null, null)], [], [], TimeSpan.FromMinutes(5))
        {
            OldestWebhookSeconds = oldest,
        }, thresholds, 0);

    [Fact]
    public void FiresPastTheThresholdOnly()
    {
        var condition = Assert.Single(Check(3601, AlertThresholds.Defaults));
        Assert.Equal((AlertRules.WebhookBacklog, "webhooks"), (condition.Alert, condition.Subject));
        Assert.Contains("3601 s ago (threshold 3600 s)", condition.Summary);
        Assert.Empty(Check(3599, AlertThresholds.Defaults));
        Assert.Empty(Check(null, AlertThresholds.Defaults));
    }

    [Fact]
    public void TheThresholdIsReadFromTheReconConfig()
    {
        var errors = new List<string>();
        var config = ReconConfig.Read((JsonObject)JsonNode.Parse("""{"alerts": {"webhook_backlog_s": 600}}""")!, errors);
        Assert.Empty(errors);
        Assert.Equal(TimeSpan.FromMinutes(10), config.Alerts.WebhookBacklog);
        Assert.Single(Check(601, config.Alerts));
        ReconConfig.Read((JsonObject)JsonNode.Parse("""{"alerts": {"webhook_backlog_s": 5}}""")!, errors);
        Assert.NotEmpty(errors);
    }
}
