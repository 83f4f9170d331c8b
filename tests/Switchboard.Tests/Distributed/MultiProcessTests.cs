namespace Switchboard.Tests.Distributed;

/// <summary>
/// The distributed deployment as separate OS processes of the built binary (api, executors,
/// recon) on the PostgreSQL and Redis that test.sh started: whatever process is killed, every
/// accepted request finishes once, charged once, with all its results.
/// </summary>
public sealed class MultiProcessTests() : ProcessTestBase(Catalog)
{
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: work, action: slow, handler: echo.render, price: 1, prompt_template: "Work on {n}", create_qty: 2, params: {delay_ms: 150}}
        """);

    private const int Requests = 500;

    private async Task<List<string>> Submit(SwitchboardProcess api, int count)
    {
        using var client = api.Client(Key);
        var ids = new string[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var response = await client.PostAsJsonAsync("/svc/work/slow/", new { n = i });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids[i] = await SwitchboardFactory.IdOf(response);
        });
        return [.. ids];
    }

    private long Count(string status) =>
        Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE status = @s", ("@s", status)));

    private Task WaitUntil(Func<bool> condition, TimeSpan timeout, string what) =>
        Wait.Until(condition, timeout, () => $"{what}; statuses: queued {Count("queued")}, running {Count("running")}, succeeded {Count("succeeded")}, failed {Count("failed")}",
            poll: TimeSpan.FromMilliseconds(100));

    /// <summary>Every request succeeded with all its results, each charged once and never refunded, and the books balance.</summary>
    private void AssertAllFinishedOnce(IReadOnlyCollection<string> ids)
    {
        Assert.Equal(ids.Count, Count("succeeded"));
        Store.Query(c =>
        {
            using var command = c.Sql(
                """
                SELECT r.id, r.results,
                    (SELECT COUNT(*) FROM ledger l WHERE l.request_id = r.id AND l.kind = 'charge'),
                    (SELECT COUNT(*) FROM ledger l WHERE l.request_id = r.id AND l.kind = 'refund')
                FROM requests r
                """);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var results = JsonNode.Parse(reader.GetString(1))!.AsArray();
                Assert.True(results.Count == 2, $"request {reader.GetString(0)} has {results.Count} results");
                Assert.True(reader.GetInt64(2) == 1, $"request {reader.GetString(0)} was charged {reader.GetInt64(2)} times");
                Assert.True(reader.GetInt64(3) == 0, $"request {reader.GetString(0)} was refunded");
            }
            return 0;
        });
        Assert.Equal(10_000 - ids.Count, Ledger.Balance(Store, UserId));
        Ledger.AssertBalanced(Store);
    }

    [Fact]
    public async Task KillingAnExecutorMidRunLosesNothingAndRunsNothingTwice()
    {
        var api = await Start("api");
        var first = await Start("executor", "--workers", "16");
        var second = await Start("executor", "--workers", "16");
        await Start("recon");

        var ids = await Submit(api, Requests);
        await WaitUntil(() => first.Logged("Claimed ") && Count("succeeded") >= 50, TimeSpan.FromSeconds(60), "work in flight on the first executor");
        await first.Kill();
        var killedAt = new Dictionary<SwitchboardProcess, DateTimeOffset> { [first] = DateTimeOffset.UtcNow };
        var left = Count("queued") + Count("running");
        Assert.True(left > 0, "the kill should have happened mid-run");

        await WaitUntil(() => Count("succeeded") == Requests, TimeSpan.FromSeconds(120), "every request to succeed");

        AssertAllFinishedOnce(ids);
        ExecutorLogs.AssertNeverRanTwiceAtOnce([first, second], killedAt);
        Assert.True(second.Logs.Count(e => e["Message"]?.GetValue<string>().StartsWith("Claimed ", StringComparison.Ordinal) == true) > 0);
    }

    [Fact]
    public async Task WhenTheActiveReconDiesTheStandbyTakesOver()
    {
        var api = await Start("api");
        var first = await Start("executor", "--workers", "16");
        await Start("executor", "--workers", "16");
        var reconA = await Start("recon");
        var reconB = await Start("recon");
        await WaitUntil(() => reconA.Logged("now the recon leader") || reconB.Logged("now the recon leader"), TimeSpan.FromSeconds(15), "a recon to lead");
        var (leader, standby) = reconA.Logged("now the recon leader") ? (reconA, reconB) : (reconB, reconA);

        await leader.Kill();
        var killedAt = DateTime.UtcNow;
        var ids = await Submit(api, 200);
        await WaitUntil(() => first.Logged("Claimed ") && Count("succeeded") >= 20, TimeSpan.FromSeconds(60), "work in flight");
        // Jobs the killed executor held stay `running` in the store until a recon requeues
        // them: only the standby, now leading, can.
        await first.Kill();

        await WaitUntil(() => Count("succeeded") == 200, TimeSpan.FromSeconds(120), "every request to succeed");
        Assert.True(standby.Logged("now the recon leader"));
        AssertAllFinishedOnce(ids);
        Assert.True(DateTime.UtcNow - killedAt < TimeSpan.FromSeconds(120));
    }

    [Fact]
    public async Task AnExecutorStoppedWithSigtermReleasesItsWorkAndExitsZero()
    {
        var api = await Start("api");
        var executor = await Start("executor", "--workers", "8", "--Switchboard:ShutdownGrace=00:00:00.200");
        await Start("recon");
        var ids = await Submit(api, 40);
        await WaitUntil(() => executor.Logged("Claimed "), TimeSpan.FromSeconds(30), "work in flight");

        Assert.Equal(0, await executor.Terminate(TimeSpan.FromSeconds(20)));
        await Start("executor", "--workers", "8");

        await WaitUntil(() => Count("succeeded") == 40, TimeSpan.FromSeconds(60), "every request to succeed");
        AssertAllFinishedOnce(ids);
    }
}
