namespace Switchboard.Storage;

/// <summary>
/// Copies the WAL back into the database file from a connection of its own, beside the writer
/// instead of inside its COMMITs (SQLite's auto-checkpoint would stall the one writer thread,
/// with fsyncs, every ~1,000 pages). PASSIVE never waits for readers or the writer.
/// </summary>
/// <remarks>
/// SQLite starts the WAL over from its beginning only when a write transaction begins on a WAL
/// that is wholly checkpointed. Under a steady load the writer commits while each checkpoint runs,
/// so one from here never catches up: the WAL grew to the writer's auto-checkpoint (20,000 pages,
/// ~80 MB), which then stalled a COMMIT for the checkpoint's fsync of the database file (10–25 ms
/// every ~0.8 s at 3,000 requests/s: most of the embedded submit's p99, bench/README.md). So after
/// each checkpoint here the writer is asked to run one more before its next transaction: it has
/// only the few frames committed meanwhile to copy, and the WAL then restarts from its start.
/// </remarks>
public sealed class WalCheckpointer(SqliteStore store, ILogger<WalCheckpointer> logger, TimeSpan? interval = null) : BackgroundService
{
    private const string Checkpoint = "PRAGMA wal_checkpoint(PASSIVE);";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval ?? TimeSpan.FromMilliseconds(500));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                using var connection = store.Open();
                SqlExtensions.Exec(connection, Checkpoint);
                store.Writer.RunBeforeNextBatch(Checkpoint);
            }
            catch (Microsoft.Data.Sqlite.SqliteException ex)
            {
                logger.LogWarning(ex, "WAL checkpoint failed; the writer's own checkpoint is the fallback");
            }
        }
    }
}
