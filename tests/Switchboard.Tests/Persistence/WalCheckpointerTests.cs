using Microsoft.Extensions.Logging.Abstractions;

namespace Switchboard.Tests.Persistence;

/// <summary>
/// SQLite starts its WAL over only when a write transaction begins on a wholly checkpointed WAL.
/// A writer that never pauses must not keep it from doing so: otherwise the WAL grows until the
/// writer's own auto-checkpoint stalls a COMMIT (bench/README.md, the embedded submit's p99).
/// </summary>
public sealed class WalCheckpointerTests
{
    [Fact]
    public async Task TheWalStartsOverWhileTheWriterIsNeverIdle()
    {
        await using var test = TestStore.Create(StoreKind.Sqlite, empty: true);
        var path = Path.Combine(test.Path, "switchboard.db");
        await using var store = new SqliteStore(path);
        store.Migrate(); // WAL mode, as every store of serve is set up.
        await store.WriteAsync(c => c.Execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)"));
        using var checkpointer = new WalCheckpointer(store, NullLogger<WalCheckpointer>.Instance, TimeSpan.FromMilliseconds(20));
        await checkpointer.StartAsync(CancellationToken.None);

        // Eight callers keep units queued, so the writer commits back to back: 6,000 rows of 4 KiB,
        // 24 MiB of rows, more in WAL frames (each row also writes its overflow and b-tree pages).
        const int Rows = 6_000, Callers = 8;
        var row = new byte[4096];
        var largestSeen = await Task.WhenAll(Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
        {
            long largest = 0;
            for (var k = caller; k < Rows; k += Callers)
            {
                var key = k;
                await store.WriteStatementAsync(c => c.Execute("INSERT INTO t (k, v) VALUES (@k, @v)", ("@k", key), ("@v", row)));
                largest = Math.Max(largest, new FileInfo(path + "-wal").Length);
            }
            return largest;
        })));
        await checkpointer.StopAsync(CancellationToken.None);

        using (var connection = store.Open())
        {
            Assert.Equal(Rows, connection.Scalar<long>("SELECT COUNT(*) FROM t"));
        }
        // One that starts over after each checkpoint holds what is written between two of them
        // (~2 MiB); without the writer's catch-up it started over only when the writer happened to
        // be idle during a checkpoint, and grew to 10–31 MiB.
        Assert.InRange(largestSeen.Max(), 1, 6L << 20);
    }
}
