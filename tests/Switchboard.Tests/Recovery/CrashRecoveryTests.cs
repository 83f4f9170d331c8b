namespace Switchboard.Tests.Recovery;

/// <summary>Whatever stops a server, every accepted request finishes, charged once, with all its results.</summary>
public abstract class CrashRecoveryTests(StoreKind kind)
{
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: work, action: slow, handler: echo.render, price: 2, prompt_template: "Work on {n}", create_qty: 2, params: {delay_ms: 1500}}
        """);

    [Fact]
    public async Task RequestsInFlightWhenTheServerIsKilledFinishAfterARestart()
    {
        await using var app = await TestApp.StartAsync(kind, catalog: Catalog);
        var alice = await app.AddUserAsync("alice", 1000);
        var ids = new List<string>();
        await using (var first = await SwitchboardProcess.Start(app.Store, "--workers", "4", "--Switchboard:LeaseSeconds=2"))
        {
            using var client = first.Client(alice.Key);
            for (var i = 0; i < 12; i++)
            {
                ids.Add(await client.SubmitAsync("/svc/work/slow/", new { n = i }));
            }
            // Four are running (one per worker), eight wait in the in-process queue that dies with the process.
            await SwitchboardFactory.WaitFor(client, ids[0], TimeSpan.FromSeconds(10), "running");
            await first.Kill();
        }
        var running = app.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE status = 'running'"));
        Assert.True(running > 0, "the kill should have left running requests behind");

        await using var second = await SwitchboardProcess.Start(app.Store, "--workers", "8", "--Switchboard:LeaseSeconds=2", "--Switchboard:ReconInterval=00:00:00.250");
        using var after = second.Client(alice.Key);
        foreach (var id in ids)
        {
            var done = await SwitchboardFactory.WaitFor(after, id, TimeSpan.FromSeconds(30), "succeeded", "failed");
            Assert.Equal("succeeded", done["status"]!.GetValue<string>());
            Assert.Equal(2, done["results"]!.AsArray().Count);
            Assert.Equal(1, Ledger.Count(app.Store, "charge", id));
            Assert.Equal(0, Ledger.Count(app.Store, "refund", id));
        }
        Assert.Equal(1000 - (12 * 2), alice.Balance);
        Ledger.AssertBalanced(app.Store);
    }

    [Fact]
    public async Task AJobStillRunningWhenTheHostStopsIsReleasedAndFinishedByTheNextHost()
    {
        await using var app = await TestApp.StartAsync(kind, catalog: Catalog);
        var alice = await app.AddUserAsync("alice", 100);
        string id;
        await using (var first = new SwitchboardFactory(app.Store, new() { ["Switchboard:ShutdownGrace"] = "00:00:00.200" }))
        {
            using var client = first.ClientFor(alice.Key);
            var response = await client.PostAsJsonAsync("/svc/work/slow/", new { n = 1 });
            id = await SwitchboardFactory.IdOf(response);
            await SwitchboardFactory.WaitFor(client, id, TimeSpan.FromSeconds(10), "running");
        }
        // The grace period was shorter than the job: it went back to the queue, attempt not counted.
        var status = app.Query(c => c.Scalar<string>("SELECT status || '/' || attempts FROM requests WHERE id = @id", ("@id", id)));
        Assert.Equal("queued/0", status);

        await using var second = new SwitchboardFactory(app.Store);
        using var again = second.ClientFor(alice.Key);
        var done = await SwitchboardFactory.WaitFor(again, id, TimeSpan.FromSeconds(20), "succeeded", "failed");

        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal(1, done["attempts"]!.GetValue<int>());
        Assert.Equal(98, alice.Balance);
        Ledger.AssertBalanced(app.Store);
    }

    [Fact]
    public async Task ARequestWhoseWorkerKeepsDyingFailsAfterMaxAttemptsAndIsRefunded()
    {
        await using var app = await TestApp.StartAsync(kind, new() { ["Switchboard:LeaseSeconds"] = "1", ["Switchboard:MaxAttempts"] = "2" }, Catalog);
        var alice = await app.AddUserAsync("alice", 100);
        var client = alice.Client;
        var response = await client.PostAsJsonAsync("/svc/work/slow/", new { n = 7 });
        var id = await SwitchboardFactory.IdOf(response);
        await SwitchboardFactory.WaitFor(client, id, TimeSpan.FromSeconds(10), "succeeded");
        // Rewind it to what a worker that died on its last attempt leaves behind: running, lease long gone.
        app.Query(c => c.Execute(
            "UPDATE requests SET status = 'running', attempts = 2, owner = 'dead:1:x', lease_until = 1, results = NULL, finished_at = NULL WHERE id = @id",
            ("@id", id)));

        var failed = await SwitchboardFactory.WaitFor(client, id, TimeSpan.FromSeconds(10), "failed");

        Assert.Equal("worker_lost", failed["error"]!["code"]!.GetValue<string>());
        Assert.Equal(100, alice.Balance);
        Assert.Equal(1, Ledger.Count(app.Store, "refund", id));
        Ledger.AssertBalanced(app.Store);
    }
}

public sealed class CrashRecoveryOnSqlite() : CrashRecoveryTests(StoreKind.Sqlite);

public sealed class CrashRecoveryOnPostgres() : CrashRecoveryTests(StoreKind.Postgres);
