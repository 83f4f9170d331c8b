namespace Switchboard.Storage;

/// <summary>
/// Copies the WAL back into the database file from a connection of its own, beside the writer
/// instead of inside its COMMITs (SQLite's auto-checkpoint would stall the one writer thread,
/// with fsyncs, every ~1,000 pages). PASSIVE never waits for readers or the writer; the WAL is
/// restarted by the writer once a checkpoint has caught up with it.
/// </summary>
public sealed class WalCheckpointer(SqliteStore store, ILogger<WalCheckpointer> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                using var connection = store.Open();
                SqlExtensions.Exec(connection, "PRAGMA wal_checkpoint(PASSIVE);");
            }
            catch (Microsoft.Data.Sqlite.SqliteException ex)
            {
                logger.LogWarning(ex, "WAL checkpoint failed; the writer's own checkpoint is the fallback");
            }
        }
    }
}
