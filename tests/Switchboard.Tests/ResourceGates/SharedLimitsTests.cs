namespace Switchboard.Tests.ResourceGates;

/// <summary>
/// Tests that measure rates and saturation run alone, after the others: on two cores, a
/// neighbour's load would make them measure the machine instead of the gate.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadSensitiveCollection
{
    public const string Name = "Load-sensitive";
}

/// <summary>
/// The limits of an external API hold across executor processes (PostgreSQL + Redis, every role
/// its own OS process), against a fake upstream on 127.0.0.1 that counts the calls in flight.
/// </summary>
[Collection(LoadSensitiveCollection.Name)]
public sealed class SharedLimitsTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string> Fast = new()
    {
        ["Switchboard__LeaseSeconds"] = "3",
        ["Switchboard__ReconInterval"] = "00:00:00.500",
        ["Switchboard__ReconLeaseSeconds"] = "3",
        ["Switchboard__StorePollInterval"] = "00:00:00.200",
    };

    private readonly TestStore _store = TestStore.Create(StoreKind.Postgres, redis: true);
    private readonly List<SwitchboardProcess> _processes = [];
    private FakeOpenAi _upstream = null!;
    private string _key = "";
    private string _userId = "";

    public async Task InitializeAsync()
    {
        _upstream = await FakeOpenAi.StartAsync();
        (_userId, _key) = await Infrastructure.Cli.CreateUser(_store, "alice", 100_000);
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }
        await _upstream.DisposeAsync();
        await _store.DisposeAsync();
    }

    private async Task Setup(string resource)
    {
        await Infrastructure.Cli.PushOpenAiEndpoint(_store, _upstream.BaseUrl);
        await Infrastructure.Cli.ApplyCatalog(_store, $$"""
            handlers:
              - {id: openai.chat, credits: 1, resource: api}
            offers:
              - {service: chat, action: ask, handler: openai.chat, price: 1, prompt_template: "Q {n}", params: {model: m} }
            """);
        var file = Path.Combine(_store.Path, "resources.yaml");
        await File.WriteAllTextAsync(file, "resource_map:\n  api: " + resource + "\n");
        var (exit, _, error) = await Infrastructure.Cli.Run(_store, "config", "push", file, "--id", "resource_map");
        Assert.True(exit == 0, error);
    }

    private async Task<SwitchboardProcess> Start(string role, params string[] args)
    {
        var process = await SwitchboardProcess.StartRole(_store, role, args, Fast);
        _processes.Add(process);
        return process;
    }

    private async Task<List<string>> Submit(SwitchboardProcess api, int count, int from = 0)
    {
        using var client = api.Client(_key);
        var ids = new string[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var response = await client.PostAsJsonAsync("/svc/chat/ask/", new { n = from + i });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids[i] = await SwitchboardFactory.IdOf(response);
        });
        return [.. ids];
    }

    private long Count(string status) =>
        _store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE status = @s", ("@s", status)));

    private Task WaitForSucceeded(long count, TimeSpan timeout, Func<Task>? meanwhile = null) =>
        Wait.Until(async () =>
            {
                await (meanwhile?.Invoke() ?? Task.CompletedTask);
                return Count("succeeded") >= count;
            },
            timeout, () => $"{count} to succeed: {Count("succeeded")} did; queued {Count("queued")}, running {Count("running")}, failed {Count("failed")}",
            poll: TimeSpan.FromMilliseconds(100));

    private void AssertChargedOnceEach(int requests)
    {
        Assert.Equal(0, Count("failed"));
        Assert.Equal(requests, _store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM ledger WHERE kind = 'charge'")));
        Assert.Equal(0, _store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM ledger WHERE kind = 'refund'")));
        Assert.Equal(100_000 - requests, Ledger.Balance(_store, _userId));
        Ledger.AssertBalanced(_store);
    }

    [Fact]
    public async Task ThreeExecutorsNeverExceedMaxConcurrentAndKeepTheUpstreamBusy()
    {
        // 800 calls of 40 ms through 4 slots: 8 s at the least, long enough to measure saturation.
        const int jobs = 800;
        await Setup("{max_concurrent: 4, lease_s: 10}");
        _upstream.Fallback = call => FakeOpenAi.EchoN(call).After(TimeSpan.FromMilliseconds(40));
        var api = await Start("api");
        await Start("recon");
        for (var i = 0; i < 3; i++)
        {
            await Start("executor", "--workers", "32");
        }

        var ids = await Submit(api, jobs);
        await WaitForSucceeded(jobs, TimeSpan.FromSeconds(120));

        Assert.Equal(jobs, _upstream.Calls.Count);
        Assert.InRange(_upstream.MaxInFlight, 1, 4);
        // Saturated, not serialised: on average at least half the slots are calling the upstream
        // (the rest of each slot's cycle is the hand-over: wake, queue, claim, acquire).
        Assert.True(_upstream.AverageInFlight >= 2.0, $"the upstream averaged {_upstream.AverageInFlight:0.00} calls in flight");
        Assert.Equal(jobs, ids.Distinct().Count());
        AssertChargedOnceEach(jobs);
    }

    [Fact]
    public async Task TheRateHoldsAcrossExecutorsWithoutBurstsAtMinuteEdges()
    {
        // 240 rpm: four calls a second. 80 jobs take longer than the 15 s window measured.
        await Setup("{rpm: 240}");
        var api = await Start("api");
        await Start("executor");
        await Start("executor");

        await Submit(api, 80);
        await _upstream.WaitForCalls(68, TimeSpan.FromSeconds(30));

        var times = _upstream.Calls.Select(c => c.ReceivedAt).Order().ToList();
        var start = times[0];
        var inWindow = times.Count(t => t < start + TimeSpan.FromSeconds(15));
        // 60 expected; the burst tolerance adds at most one second's worth (4).
        Assert.InRange(inWindow, 54, 66);
        // No burst anywhere, edges included: any 5 s hold at most 5 s of tokens, the burst and
        // one call of jitter (a limiter with fixed minute windows would allow 240 at an edge).
        var worst = times.Max(t => times.Count(u => u >= t && u < t + TimeSpan.FromSeconds(5)));
        Assert.True(worst <= 25, $"{worst} calls within five seconds");
    }

    [Fact]
    public async Task AnExhaustedBudgetMakesJobsWaitForTheNextPeriodAndNothingIsLostOrChargedTwice()
    {
        // 5 integration credits per 3 s period, 1 per call: 14 jobs need three periods.
        await Setup("{credits: 5, period: 3s}");
        var api = await Start("api");
        await Start("recon");
        await Start("executor");
        await Start("executor");

        var ids = await Submit(api, 14);
        using var client = api.Client(_key);
        var sawPosition = false;
        await WaitForSucceeded(14, TimeSpan.FromSeconds(35), async () =>
        {
            foreach (var id in ids)
            {
                var request = await SwitchboardFactory.Get(client, id);
                sawPosition |= request["queue_position"] is not null && request["eta_s"] is not null && request["waiting_for"]?.GetValue<string>() == "api";
            }
        });

        Assert.True(sawPosition, "a waiting request never showed its queue_position");
        // Five calls per period: the 6th and the 11th call were taken in a later period than the
        // 1st, so the 11th came more than one whole period after the 1st. The upstream sees a call
        // a little after it was taken (up to ~0.5 s on a busy machine), hence the margin.
        var times = _upstream.Calls.Select(c => c.ReceivedAt.ToUnixTimeMilliseconds()).Order().ToList();
        Assert.True(times[10] - times[0] > 2500, $"calls at (ms after the first): {string.Join(", ", times.Select(t => t - times[0]))}");
        Assert.True(times.GroupBy(t => t / 3000).Count() >= 2);
        Assert.Equal(14, _upstream.Calls.Count);
        AssertChargedOnceEach(14);
    }

    [Fact]
    public async Task AKilledExecutorsSlotsReturnWithinTheLeaseAndALongJobKeepsItsSlot()
    {
        await Setup("{max_concurrent: 2, lease_s: 2}");
        var api = await Start("api");
        await Start("recon");
        var doomed = await Start("executor");

        // Two calls that hang hold both slots on the executor that will die.
        _upstream.Enqueue(FakeOpenAi.EchoN(Probe()).After(TimeSpan.FromSeconds(60)), FakeOpenAi.EchoN(Probe()).After(TimeSpan.FromSeconds(60)));
        var hung = await Submit(api, 2);
        await _upstream.WaitForCalls(2, TimeSpan.FromSeconds(10));
        await Start("executor");
        // A long job (longer than lease_s) queued behind them, then a quick one.
        _upstream.Fallback = call => call.Body.Contains("Q 100") ? FakeOpenAi.EchoN(call).After(TimeSpan.FromSeconds(4)) : FakeOpenAi.EchoN(call);
        var waiting = await Submit(api, 2, from: 100);

        await doomed.Kill();
        var killedAt = DateTimeOffset.UtcNow;
        await WaitForSucceeded(4, TimeSpan.FromSeconds(40));

        var calls = _upstream.Calls;
        var afterKill = calls.Where(c => c.Body.Contains("Q 100") || c.Body.Contains("Q 101")).ToList();
        Assert.Equal(2, afterKill.Count); // each waiting job ran once
        // Capacity came back within lease_s (2 s) plus a wake, not at the job lease or later.
        Assert.True(afterKill.Min(c => c.ReceivedAt) - killedAt < TimeSpan.FromSeconds(4), "the dead executor's slots did not come back within the lease");
        // The long job ran past lease_s without losing its slot: never more than two calls at once.
        Assert.InRange(_upstream.MaxInFlight, 1, 2);
        Assert.Single(calls, c => c.Body.Contains("Q 100"));
        Assert.Equal(4, waiting.Concat(hung).Distinct().Count());
        Assert.Equal(4, _store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM ledger WHERE kind = 'charge'")));
        Ledger.AssertBalanced(_store);
    }

    private static FakeCall Probe() => new(0, DateTimeOffset.UtcNow, "POST", "/v1/chat/completions", new Dictionary<string, string>(), "{\"n\":1}");
}
