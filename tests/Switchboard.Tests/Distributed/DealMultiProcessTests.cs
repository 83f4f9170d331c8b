using Switchboard.Tests.Deals;

namespace Switchboard.Tests.Distributed;

/// <summary>
/// Deals in the distributed deployment (api, two executors and recon as separate OS processes
/// on PostgreSQL and Redis): an executor killed while pipeline steps run loses no deal, runs no
/// step twice at once and charges nothing twice.
/// </summary>
public sealed class DealMultiProcessTests() : ProcessTestBase(Catalog)
{
    // Three items, fast → slow-ish → fast: the kill lands while middle steps run.
    private static readonly string Catalog = TestCatalogs.Relay(slowMs: 400);

    private const int Deals = 20;
    private const long Price = 3 + 5 + 2;

    /// <summary>The steps (at place <paramref name="step"/>, or any) running under this executor's claim now (its owner name holds its pid).</summary>
    private List<string> RunningOn(SwitchboardProcess executor, int? step = null) => Store.Query(c =>
    {
        using var command = c.Sql(
            "SELECT id FROM requests WHERE kind = 'step' AND status = 'running' AND owner LIKE @owner AND (@step < 0 OR step = @step)",
            ("@owner", $"%:{executor.Pid}:%"), ("@step", step ?? -1));
        using var reader = command.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }
        return ids;
    });

    private long DealsSucceeded() => Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE kind = 'deal' AND status = 'succeeded'"));

    [Fact]
    public async Task KillingAnExecutorWhilePipelineStepsRunLosesNoDealAndRunsNoStepTwice()
    {
        var api = await Start("api");
        var first = await Start("executor", "--workers", "4");
        var second = await Start("executor", "--workers", "4");
        await Start("recon");
        using var client = api.Client(Key);
        var ids = new string[Deals];
        await Parallel.ForAsync(0, Deals, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var response = await client.PostAsJsonAsync("/svc/deal/relay/", new { inputs = new { n = i } });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids[i] = await SwitchboardFactory.IdOf(response);
        });

        await Wait.Until(
            () => DealRows.Count(Store, 0, "succeeded") >= 1 && RunningOn(first, step: 1).Count > 0,
            TimeSpan.FromSeconds(20), () => "a middle step to run on the first executor");
        await first.Kill();
        var killedAt = new Dictionary<SwitchboardProcess, DateTimeOffset> { [first] = DateTimeOffset.UtcNow };
        var before = DealRows.Read(Store);
        var killedRunning = RunningOn(first).Select(id => before[id]).ToList();
        Assert.Contains(killedRunning, r => r.Step == 1);
        var done = before.Values.Where(r => r.Status == "succeeded").ToList();

        await Wait.Until(() => DealsSucceeded() == Deals, TimeSpan.FromSeconds(30),
            () => $"every deal to succeed ({DealsSucceeded()} of {Deals})");
        // The last lines may still be on their way through the pipe: a re-run step's "Claimed"
        // and "Ended" can both be missing while the counts already match.
        await Wait.Until(
            () => ExecutorLogs.Claims(second).Values.Sum() == ExecutorLogs.Ends(second).Values.Sum()
                && killedRunning.All(r => ExecutorLogs.Ends(second).ContainsKey(r.Id)),
            TimeSpan.FromSeconds(10), () => "the second executor's log to show every claim ended, the killed steps' included");

        var rows = DealRows.Read(Store);
        foreach (var row in done)
        {
            Assert.Equal(row, rows[row.Id]);
        }
        var rerun = ExecutorLogs.Claims(second);
        foreach (var row in killedRunning)
        {
            // The killed claim's lease expired, recon requeued it and the live executor ran it.
            Assert.Equal(row.Attempts + 1, rows[row.Id].Attempts);
            Assert.True(rerun.ContainsKey(row.Id), $"step {row.Id} was not run again by the live executor");
        }
        for (var i = 0; i < Deals; i++)
        {
            var deal = await SwitchboardFactory.Get(client, ids[i]);
            Assert.Equal("succeeded", deal["status"]!.GetValue<string>());
            var steps = DealRows.StepsOf(rows, ids[i]);
            Assert.Equal(DealCrashTests.Expected(i), steps.Select(s => s.ResultList));
            DealRows.AssertRanInOrder(steps);
            Assert.Equal(1, Ledger.Count(Store, "charge", ids[i]));
            Assert.Equal(0, Ledger.Count(Store, "refund", ids[i]));
        }
        Assert.Equal(10_000 - (Deals * Price), Ledger.Balance(Store, UserId));
        Ledger.AssertAudited(Store);
        ExecutorLogs.AssertNeverRanTwiceAtOnce([first, second], killedAt);
    }
}
