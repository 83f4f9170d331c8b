using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Backup;

/// <summary>
/// The issue's test: <c>switchboard backup</c> runs, several times, as its own process beside a
/// real <c>serve</c> that is accepting, charging and running requests; each backup restores into a
/// fresh data folder where the credits audit passes and the counts lie between those seen before
/// and after it; and <c>serve</c> on the restored folder finishes the requests the backup caught
/// queued or running (its in-process queue starts empty: the start's takeback and recon find them).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Unix file modes
public sealed class BusyStoreBackupTests
{
    [Fact]
    public async Task BackupsOfABusyStoreRestoreIntoStoresThatPassTheAuditAndFinishTheirQueuedRequests()
    {
        await using var app = await TestApp.StartAsync(StoreKind.Sqlite, catalog: SteadyLoad.Catalog);
        var alice = await app.AddUserAsync("alice", 1_000_000);
        var backups = new List<(string File, long Before, long After, JsonObject Line)>();
        await using (var serve = await SwitchboardProcess.Start(app.Store, "--workers", "2"))
        {
            using var stop = new CancellationTokenSource();
            var load = Enumerable.Range(0, 4).Select(client => SteadyLoad.Submit(serve.Client(alice.Key), client, stop.Token)).ToList();
            await Wait.Until(() => Requests(app.Store) >= 50, TimeSpan.FromSeconds(30), "the load to start");
            for (var i = 0; i < 3; i++)
            {
                var file = Path.Combine(app.Store.Path, $"backup-{i}.db");
                // A reader holds a snapshot open meanwhile, as a long report would: checkpoints
                // cannot pass it, so the commits after it are in the WAL only. A copy of the
                // database file alone would miss them; the backup must not.
                await using var reader = new SqliteConnection($"Data Source={Path.Combine(app.Store.Path, "switchboard.db")};Pooling=False");
                await reader.OpenAsync();
                SqlExtensions.Exec(reader, "BEGIN;");
                var pinned = reader.Scalar<long>("SELECT COUNT(*) FROM requests");
                var before = await Wait.For(() => Requests(app.Store), n => n >= pinned + 20, TimeSpan.FromSeconds(30), "commits after the reader's snapshot");
                var (exit, output, error) = await Infrastructure.Cli.RunProcess(TimeSpan.FromSeconds(60), ["backup", file, .. app.Store.ProcessArgs]);
                var after = Requests(app.Store);
                SqlExtensions.Exec(reader, "COMMIT;");
                Assert.True(exit == 0, $"backup {i} exited {exit}: {error}");
                backups.Add((file, before, after, (JsonObject)JsonNode.Parse(output)!));
                await Task.Delay(300);
            }
            await stop.CancelAsync();
            await Task.WhenAll(load);
            Assert.Equal(0, await serve.Terminate(TimeSpan.FromSeconds(30)));
        }

        foreach (var (file, before, after, line) in backups)
        {
            // The line says what the file holds; the file is private, whole, and alone.
            Assert.Equal(file, line["path"]!.GetValue<string>());
            Assert.Equal(new FileInfo(file).Length, line["bytes"]!.GetValue<long>());
            Assert.Equal(Migrations.Latest, line["schema_version"]!.GetValue<int>());
            Assert.True(line["ledger_rows"]!.GetValue<long>() > line["requests"]!.GetValue<long>(), line.ToJsonString());
            Assert.Equal(PrivateFiles.FileMode, File.GetUnixFileMode(file));
            Assert.False(File.Exists(file + "-wal"));
            Assert.Empty(Directory.GetFiles(app.Store.Path, Path.GetFileName(file) + ".tmp-*"));

            await using var restored = TestStore.Create(StoreKind.Sqlite);
            var restore = await Infrastructure.Cli.Json(restored, "restore", file);
            Assert.Null(restore["previous"]);
            var requests = Requests(restored);
            Assert.Equal(line["requests"]!.GetValue<long>(), requests);
            Assert.InRange(requests, before, after);
            var (auditExit, audit, auditError) = await Infrastructure.Cli.Run(restored, "credits", "audit");
            Assert.True(auditExit == 0, $"the audit of {file}: {audit} {auditError}");
            Assert.Empty(JsonNode.Parse(audit)!["problems"]!.AsArray());
        }

        // The last backup, restored and served: what it caught unfinished is finished.
        await using var last = TestStore.Create(StoreKind.Sqlite);
        await Infrastructure.Cli.Json(last, "restore", backups[^1].File);
        // As docs/operations.md says: the key travels beside the backup, not in it.
        var key = Path.Combine(app.Store.Path, "fernet.key");
        if (File.Exists(key))
        {
            File.Copy(key, Path.Combine(last.Path, "fernet.key"));
        }
        var unfinished = last.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE status IN ('queued', 'running')"));
        Assert.True(unfinished > 0, "the backup should have caught queued or running requests");
        await using (var again = await SwitchboardProcess.Start(last, "--workers", "32", "--Switchboard:ReconInterval=00:00:00.250"))
        {
            await Wait.ForValue(
                () => last.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE status <> 'succeeded'")),
                0L, TimeSpan.FromSeconds(60), "the restored store's requests to succeed");
            Assert.Equal(0, await again.Terminate(TimeSpan.FromSeconds(30)));
        }
        // The served restore still passes the audit: each request charged once (TestStore checks again when disposed).
        Assert.Empty(last.Audit().Problems);
        Assert.Equal(0, last.Query(c => c.Scalar<long>(
            "SELECT COUNT(*) FROM (SELECT request_seq, run FROM ledger WHERE kind = 'charge' GROUP BY request_seq, run HAVING COUNT(*) > 1) AS twice")));
    }

    private static long Requests(TestStore store) => store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests"));
}
