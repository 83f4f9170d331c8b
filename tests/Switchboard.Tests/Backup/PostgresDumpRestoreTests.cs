using System.Diagnostics;
using Npgsql;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Backup;

/// <summary>
/// The distributed store's backup is PostgreSQL's (docs/operations.md, "Backup and restore"): the
/// documented <c>pg_dump -Fc</c>, taken while a real <c>serve</c> on PostgreSQL accepts and
/// charges requests, and <c>pg_restore --clean --if-exists --single-transaction</c> over the same
/// database afterwards, give back the dump's moment (later writes gone), a store on which the
/// credits audit passes, new rows get fresh ids (sequences restored), and <c>serve</c> finishes
/// the requests the dump caught unfinished.
/// </summary>
public sealed class PostgresDumpRestoreTests
{
    // The requests the dump caught running are requeued by recon when their stored lease ends.
    private const string Lease = "--Switchboard:LeaseSeconds=5";

    [Fact]
    public async Task TheDocumentedPgDumpAndPgRestoreRoundTripABusyStore()
    {
        await using var app = await TestApp.StartAsync(StoreKind.Postgres, catalog: SteadyLoad.Catalog);
        var alice = await app.AddUserAsync("alice", 1_000_000);
        var dump = Path.Combine(app.Store.Path, "switchboard.dump");
        var url = LibpqUrl(app.Store.DatabaseName!);
        long before, after;
        await using (var serve = await SwitchboardProcess.Start(app.Store, "--workers", "2", Lease))
        {
            using var stop = new CancellationTokenSource();
            var load = Enumerable.Range(0, 4).Select(c => SteadyLoad.Submit(serve.Client(alice.Key), c, stop.Token)).ToList();
            await Wait.Until(() => Requests(app.Store) >= 50, TimeSpan.FromSeconds(30), "the load to start");
            before = Requests(app.Store);
            await Tool("pg_dump", "-Fc", "--no-owner", "-d", url, "-f", dump);
            after = Requests(app.Store);
            await stop.CancelAsync();
            await Task.WhenAll(load);
            Assert.Equal(0, await serve.Terminate(TimeSpan.FromSeconds(30)));
        }
        await app.AddUserAsync("bob", 10); // after the dump: gone after the restore

        NpgsqlConnection.ClearAllPools();
        await Tool("pg_restore", "--clean", "--if-exists", "--single-transaction", "--no-owner", "-d", url, dump);
        NpgsqlConnection.ClearAllPools();

        var requests = Requests(app.Store);
        Assert.InRange(requests, before, after);
        var (_, users, _) = await Infrastructure.Cli.Run(app.Store, "users", "list");
        Assert.Contains("alice", users);
        Assert.DoesNotContain("bob", users);
        Assert.Empty(app.Store.Audit().Problems);
        Assert.True(app.Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE status IN ('queued', 'running')")) > 0,
            "the dump should have caught queued or running requests");
        await app.AddUserAsync("carol", 10);
        await using (var again = await SwitchboardProcess.Start(app.Store, "--workers", "32", "--Switchboard:ReconInterval=00:00:00.250", Lease))
        {
            await Wait.ForValue(
                () => app.Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE status <> 'succeeded'")),
                0L, TimeSpan.FromSeconds(90), "the restored store's requests to succeed");
            Assert.Equal(0, await again.Terminate(TimeSpan.FromSeconds(30)));
        }
        Assert.Empty(app.Store.Audit().Problems);
    }

    private static long Requests(TestStore store) => store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests"));

    /// <summary>The test database as the libpq URL pg_dump takes (the bootstrap's is an Npgsql connection string).</summary>
    private static string LibpqUrl(string database)
    {
        var admin = new NpgsqlConnectionStringBuilder(TestServices.PostgresAdmin);
        var password = string.IsNullOrEmpty(admin.Password) ? "" : ":" + Uri.EscapeDataString(admin.Password);
        return $"postgresql://{Uri.EscapeDataString(admin.Username!)}{password}@{admin.Host}:{admin.Port}/{database}";
    }

    /// <summary>Runs a PostgreSQL client tool from PATH, bounded in time; fails the test with its stderr unless it exits 0.</summary>
    private static async Task Tool(string name, params string[] args)
    {
        var info = new ProcessStartInfo(name) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        args.ToList().ForEach(info.ArgumentList.Add);
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        Assert.True(process.ExitCode == 0, $"{name} exited {process.ExitCode}: {await error}{await output}");
    }
}
