using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Hosting;
using Switchboard.Storage;

namespace Switchboard.Recon;

/// <summary>
/// Recon's watch, beside its repairs and on the same interval but in its own loop (a slow
/// health check never delays a repair): while this process leads, takes a health snapshot,
/// sets recon's gauges from it, and evaluates the alerts of the <c>recon</c> config.
/// </summary>
public sealed class HealthWatch(
    HealthProbe probe, AlertEngine alerts, ReconRepairs repairs, AppConfigs configs, IReconLeadership leadership,
    IOptions<SwitchboardOptions> options, ILogger<HealthWatch> logger) : BackgroundService
{
    /// <summary>The last snapshot taken while leading (null before the first, or when not leading).</summary>
    public HealthSnapshot? Last { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReconInterval);
        var wasLeader = false;
        do
        {
            if (!leadership.IsLeader)
            {
                if (wasLeader)
                {
                    alerts.Reset();
                    Last = null;
                    wasLeader = false;
                }
                continue;
            }
            wasLeader = true;
            try
            {
                var snapshot = await probe.TakeAsync();
                probe.Publish(snapshot);
                alerts.Evaluate(AlertRules.Check(snapshot, configs.Recon.Alerts, repairs.LastMinute()), Clock.NowMs());
                Last = snapshot;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Health check failed; next in {Interval}", options.Value.ReconInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
