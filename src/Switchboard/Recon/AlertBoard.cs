using System.Data.Common;
using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Storage;

namespace Switchboard.Recon;

/// <summary>The alerts firing as last reported, when, and whether that report is too old to trust.</summary>
public sealed record AlertReport(IReadOnlyList<FiringAlert> Firing, long ReportedAtMs, bool Stale);

/// <summary>
/// The leading recon's alerts, kept in the store (<c>alerts_firing</c>, and the time of the last
/// report in <c>meta.alerts_reported_at</c>) so that every process shows them: an <c>api</c>
/// process's health endpoint and panel dashboard, not only the recon's own. The recon reports
/// when the set of firing alerts changes, and at least every <see cref="RefreshEvery"/> (which
/// also refreshes their summaries); a report older than a minute (or three recon intervals) is
/// marked stale: no recon is leading, or it cannot reach the store.
/// </summary>
public static class AlertBoard
{
    public const string ReportedAt = "alerts_reported_at";
    public static readonly TimeSpan RefreshEvery = TimeSpan.FromSeconds(10);

    public static void Publish(DbConnection connection, IReadOnlyList<FiringAlert> firing, long nowMs)
    {
        connection.Execute("DELETE FROM alerts_firing");
        foreach (var f in firing)
        {
            connection.Execute(
                "INSERT INTO alerts_firing (alert, subject, summary, since_ms) VALUES (@alert, @subject, @summary, @since)",
                ("@alert", f.Alert), ("@subject", f.Subject), ("@summary", f.Summary), ("@since", f.SinceMs));
        }
        connection.Execute("UPDATE meta SET value = @now WHERE key = @key", ("@now", nowMs), ("@key", ReportedAt));
    }

    /// <summary>The last report, or null when no recon has reported on this store yet.</summary>
    public static AlertReport? Read(DbConnection connection, long nowMs, TimeSpan staleAfter)
    {
        var reportedAt = Meta.Read(connection, ReportedAt);
        if (reportedAt == 0)
        {
            return null;
        }
        var firing = new List<FiringAlert>();
        using (var command = connection.Sql("SELECT alert, subject, summary, since_ms FROM alerts_firing ORDER BY since_ms, alert, subject"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                firing.Add(new FiringAlert(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3)));
            }
        }
        return new AlertReport(firing, reportedAt, nowMs - reportedAt > staleAfter.TotalMilliseconds);
    }

    /// <summary>
    /// The alerts this process shows: its own engine's when it leads the recon (the freshest),
    /// else the store's last report; null when no recon has reported yet (or the store is down).
    /// </summary>
    public static AlertReport? Current(IServiceProvider services)
    {
        var now = Clock.NowMs();
        if (services.GetService<AlertEngine>() is { } engine && services.GetService<IReconLeadership>()?.IsLeader == true)
        {
            return new AlertReport(engine.Firing, now, false);
        }
        var interval = services.GetRequiredService<IOptions<SwitchboardOptions>>().Value.ReconInterval;
        var staleAfter = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMinutes(1).Ticks, 3 * (interval + RefreshEvery).Ticks));
        try
        {
            using var connection = services.GetRequiredService<Store>().Open();
            return Read(connection, now, staleAfter);
        }
        catch (DbException)
        {
            return null; // The store is down: the health snapshot says so.
        }
    }
}
