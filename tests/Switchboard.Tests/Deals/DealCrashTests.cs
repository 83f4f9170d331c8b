namespace Switchboard.Tests.Deals;

/// <summary>
/// A deal's pipeline survives a kill -9 of the embedded server in the middle of a step: after a
/// restart every deal ends succeeded with exactly its results, the steps that had finished keep
/// their results and are not run again, and each deal stays charged once, never refunded.
/// </summary>
public abstract class DealCrashTests(StoreKind kind)
{
    // Three items, fast → slow → fast: the kill lands while middle steps run, with first steps
    // done, last steps waiting, and some deals already over.
    private static readonly string Catalog = TestCatalogs.Relay(slowMs: 1500);

    private const int Deals = 8;
    private const long Price = 3 + 5 + 2;

    /// <summary>What echo.render makes of deal <paramref name="n"/>, step by step.</summary>
    public static List<List<string>> Expected(int n) =>
        [[$"First({n}) #1"], [$"Slow[First({n}) #1] #1"], [$"Last[Slow[First({n}) #1] #1] #1"]];

    [Fact]
    public async Task DealsKilledMidPipelineFinishAfterARestartWithoutRerunningFinishedSteps()
    {
        await using var app = await TestApp.StartAsync(kind, catalog: Catalog);
        var alice = await app.AddUserAsync("alice", 1000);
        var ids = new List<string>();
        await using (var first = await SwitchboardProcess.Start(app.Store, "--workers", "4", "--Switchboard:LeaseSeconds=2"))
        {
            using var client = first.Client(alice.Key);
            for (var i = 0; i < Deals; i++)
            {
                ids.Add(await client.SubmitAsync("/svc/deal/relay/", new { inputs = new { n = i } }));
            }
            // Four workers, eight slow steps of 1.5 s: once every first step and a slow one have
            // succeeded while another slow one runs, the store holds every stage of a pipeline.
            await DealRows.WaitUntil(
                () => DealRows.Count(app.Store, 0, "succeeded") == Deals && DealRows.Count(app.Store, 1, "succeeded") >= 1 && DealRows.Count(app.Store, 1, "running") >= 1,
                TimeSpan.FromSeconds(20), () => "every first step and a slow one to succeed while another slow one runs");
            await first.Kill();
        }
        var before = DealRows.Read(app.Store);
        var killedRunning = before.Values.Where(r => r.Kind == "step" && r.Status == "running").ToList();
        Assert.Contains(killedRunning, r => r.Step == 1);
        var done = before.Values.Where(r => r.Status == "succeeded").ToList();
        Assert.Equal(Deals, done.Count(r => r.Step == 0));

        await using var second = await SwitchboardProcess.Start(app.Store, "--workers", "4", "--Switchboard:LeaseSeconds=2", "--Switchboard:ReconInterval=00:00:00.250");
        using var after = second.Client(alice.Key);
        for (var i = 0; i < Deals; i++)
        {
            var deal = await SwitchboardFactory.WaitFor(after, ids[i], TimeSpan.FromSeconds(30), "succeeded", "failed", "cancelled");
            Assert.Equal("succeeded", deal["status"]!.GetValue<string>());
            Assert.Equal(Expected(i), deal["steps"]!.AsArray().Select(s => s!["results"]!.AsArray().Select(r => r!.GetValue<string>()).ToList()));
        }

        var rows = DealRows.Read(app.Store);
        // What had succeeded before the kill is untouched: same results, same times, same attempts.
        foreach (var row in done)
        {
            Assert.Equal(row, rows[row.Id]);
        }
        // A step that was running when the process died ran again once its lease expired: one more claim.
        foreach (var row in killedRunning)
        {
            Assert.Equal(row.Attempts + 1, rows[row.Id].Attempts);
        }
        for (var i = 0; i < Deals; i++)
        {
            var steps = DealRows.StepsOf(rows, ids[i]);
            Assert.Equal(Expected(i), steps.Select(s => s.ResultList));
            Assert.All(steps, s => Assert.Equal("succeeded", s.Status));
            Assert.Equal(1, steps[0].Attempts);
            DealRows.AssertRanInOrder(steps);
            Assert.Equal(1, Ledger.Count(app.Store, "charge", ids[i]));
            Assert.Equal(0, Ledger.Count(app.Store, "refund", ids[i]));
        }
        Assert.Equal(1000 - (Deals * Price), alice.Balance);
        Ledger.AssertAudited(app.Store);
    }
}

public sealed class DealCrashOnSqlite() : DealCrashTests(StoreKind.Sqlite);

public sealed class DealCrashOnPostgres() : DealCrashTests(StoreKind.Postgres);
