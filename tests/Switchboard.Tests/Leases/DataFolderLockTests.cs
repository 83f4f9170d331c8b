using System.Net;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Leases;

/// <summary>
/// An embedded <c>serve</c> holds its data folder for its whole life (Storage/DataFolderLock.cs):
/// a second one is refused, naming the holder; the lock dies with its process, kill -9 included;
/// and a restarted serve takes back at once the jobs its killed predecessor left running,
/// instead of waiting out their lease.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Unix file modes
public sealed class DataFolderLockTests
{
    [Fact]
    public async Task ASecondServeOnTheFolderIsRefusedNamingTheHolderUntilTheFirstIsKilled()
    {
        await using var dir = TestStore.Create(StoreKind.Sqlite);
        var (_, key) = await Infrastructure.Cli.CreateUser(dir, "alice", 10);
        await using var first = await SwitchboardProcess.Start(dir);

        var (exit, _, error) = await Infrastructure.Cli.RunProcess(
            TimeSpan.FromSeconds(30), ["serve", "--urls", $"http://127.0.0.1:{SwitchboardProcess.FreePort()}", .. dir.ProcessArgs]);

        Assert.True(exit == 1, $"the second serve exited {exit}: {error}");
        Assert.Contains("is in use by another Switchboard server", error);
        Assert.Contains($"pid {first.Pid} ", error);
        Assert.Contains(first.Address!.ToString(), error);
        Assert.Equal(PrivateFiles.FileMode, File.GetUnixFileMode(Path.Combine(dir.Path, DataFolderLock.LockFileName)));
        Assert.Equal(PrivateFiles.FileMode, File.GetUnixFileMode(Path.Combine(dir.Path, DataFolderLock.HolderFileName)));
        // The first keeps serving, and management commands still run beside it.
        using var client = first.Client(key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);
        Assert.Equal(0, (await Infrastructure.Cli.Run(dir, "users", "list")).Exit);

        await first.Kill();
        await using var next = await SwitchboardProcess.Start(dir);
        using var again = next.Client(key);
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task ARestartedServeTakesBackTheJobsItsKilledPredecessorLeftRunningAtOnce()
    {
        await using var upstream = await FakeOpenAi.StartAsync();
        // The first instance's calls are held until it dies; the restarted one's are answered at once.
        var hold = true;
        upstream.Fallback = call => Volatile.Read(ref hold) ? FakeOpenAi.EchoN(call).After(TimeSpan.FromMinutes(5)) : FakeOpenAi.EchoN(call);
        await using var dir = TestStore.Create(StoreKind.Sqlite);
        await ChatOffer.Install(dir, upstream, price: 2);
        var (userId, key) = await Infrastructure.Cli.CreateUser(dir, "alice", 1000);
        // A lease far longer than the test may take: only the takeback can finish the running ones in time.
        string[] settings = ["--workers", "16", "--Switchboard:LeaseSeconds=120"];
        const int Requests = 40;
        List<string> ids;
        await using (var first = await SwitchboardProcess.Start(dir, settings))
        {
            using var client = first.Client(key);
            ids = await ChatOffer.Submit(client, Requests);
            // Sixteen are running (one per worker, each held upstream); the rest wait in the in-process queue.
            await upstream.WaitForCalls(16, TimeSpan.FromSeconds(30));
            await first.Kill();
        }
        var running = dir.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE status = 'running'"));
        Assert.Equal(16, running);
        Volatile.Write(ref hold, false);

        var restartedAt = DateTime.UtcNow;
        await using var second = await SwitchboardProcess.Start(dir, settings);
        using var after = second.Client(key);
        foreach (var id in ids)
        {
            var left = TimeSpan.FromSeconds(30) - (DateTime.UtcNow - restartedAt);
            var done = await SwitchboardFactory.WaitFor(after, id, left > TimeSpan.Zero ? left : TimeSpan.Zero, "succeeded", "failed");
            Assert.Equal("succeeded", done["status"]!.GetValue<string>());
            Assert.Equal(1, Ledger.Count(dir, "charge", id));
            Assert.Equal(0, Ledger.Count(dir, "refund", id));
        }
        Assert.True(second.Logged("Took back 16 request(s)"), "the restarted serve should say what it took back");
        Assert.Equal(1000 - (Requests * 2), Ledger.Balance(dir, userId));
        Ledger.AssertBalanced(dir);
        Ledger.AssertAudited(dir);
    }
}
