using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Storage;

namespace Switchboard.Recon;

/// <summary>
/// Recon's watch, beside its repairs and on the same interval but in its own loop (a slow
/// health check never delays a repair): while this process leads, takes a health snapshot,
/// sets recon's gauges from it, evaluates the alerts of the <c>recon</c> config, and reports
/// what fires to the store (<see cref="AlertBoard"/>) for the other processes to show.
/// </summary>
public sealed class HealthWatch(
    HealthProbe probe, AlertEngine alerts, ReconRepairs repairs, AppConfigs configs, IReconLeadership leadership,
    Store store, IOptions<SwitchboardOptions> options, ILogger<HealthWatch> logger) : BackgroundService
{
    private IReadOnlyList<FiringAlert>? _reported;
    private long _reportedAtMs;

    /// <summary>The last snapshot taken while leading (null before the first, or when not leading).</summary>
    public HealthSnapshot? Last { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReconInterval);
        var wasLeader = false;
        var redisDown = false;
        do
        {
            // The lease lives in Redis: a leader loses it when Redis goes away, and no one can take
            // it while Redis stays away. The last leader keeps watching meanwhile (repairs stay
            // stopped), or nobody would report that Redis is unreachable.
            if (!leadership.IsLeader && !(wasLeader && redisDown))
            {
                if (wasLeader)
                {
                    alerts.Reset();
                    Last = null;
                    _reported = null;
                    wasLeader = false;
                }
                continue;
            }
            wasLeader = true;
            try
            {
                var snapshot = await probe.TakeAsync();
                redisDown = snapshot.Dependencies.Any(d => d.Name == "redis" && !d.Up);
                probe.Publish(snapshot);
                alerts.Evaluate(AlertRules.Check(snapshot, configs.Recon.Alerts, repairs.LastMinute()), Clock.NowMs());
                Last = snapshot;
                await Report(alerts.Firing);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Health check or alert report failed; next in {Interval}", options.Value.ReconInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Writes the firing alerts to the store when which ones fire changed, or when the last report is getting old.</summary>
    private async Task Report(IReadOnlyList<FiringAlert> firing)
    {
        var now = Clock.NowMs();
        var same = _reported is not null && _reported.Select(f => (f.Alert, f.Subject)).SequenceEqual(firing.Select(f => (f.Alert, f.Subject)));
        if (same && now - _reportedAtMs < AlertBoard.RefreshEvery.TotalMilliseconds)
        {
            return;
        }
        await store.WriteAsync(connection => AlertBoard.Publish(connection, firing, now));
        (_reported, _reportedAtMs) = (firing, now);
    }
}
