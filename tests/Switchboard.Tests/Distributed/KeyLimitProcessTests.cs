using System.Collections.Concurrent;

namespace Switchboard.Tests.Distributed;

/// <summary>
/// A key's limits hold across two api processes on one PostgreSQL (and Redis, for rpm): many
/// purchases at once, half through each process, and exactly the limit is accepted; the rest are
/// refused with their problem, nothing of them written or charged, and the books balance. No
/// executor runs, so every accepted request stays queued (and counts for concurrency).
/// </summary>
public sealed class KeyLimitProcessTests() : ProcessTestBase(Catalog)
{
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: work, action: one, handler: echo.render, price: 1, prompt_template: "Work on {n}", create_qty: 1}
        """);

    private const int Attempts = 24;

    /// <summary>A key of alice's with these limits, bought with through two api processes at once; the statuses answered.</summary>
    private async Task<(ConcurrentBag<HttpStatusCode> Statuses, ConcurrentBag<string> Codes)> BuyThroughTwo(params string[] limits)
    {
        var key = (await App.CliJsonAsync(["keys", "create", "alice", .. limits]))["api_key"]!.GetValue<string>();
        var first = await Start("api");
        var second = await Start("api");
        using var one = first.Client(key);
        using var two = second.Client(key);
        var statuses = new ConcurrentBag<HttpStatusCode>();
        var codes = new ConcurrentBag<string>();
        await Parallel.ForAsync(0, Attempts, new ParallelOptions { MaxDegreeOfParallelism = Attempts }, async (i, _) =>
        {
            var response = await (i % 2 == 0 ? one : two).PostAsJsonAsync("/svc/work/one/", new { n = i });
            statuses.Add(response.StatusCode);
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                codes.Add((await response.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
            }
        });
        return (statuses, codes);
    }

    private long Requests => Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests"));

    private void AssertChargedFor(int accepted)
    {
        Assert.Equal(accepted, Requests);
        Assert.Equal(10_000 - accepted, Ledger.Balance(Store, UserId));
        Ledger.AssertBalanced(Store);
    }

    [Fact]
    public async Task MaxConcurrentHoldsAcrossTwoApiProcesses()
    {
        var (statuses, codes) = await BuyThroughTwo("--max-concurrent", "3");

        Assert.Equal(3, statuses.Count(s => s == HttpStatusCode.Accepted));
        Assert.Equal(Attempts - 3, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.All(codes, c => Assert.Equal("key_concurrency", c));
        AssertChargedFor(3);
    }

    [Fact]
    public async Task ABudgetHoldsAcrossTwoApiProcesses()
    {
        var (statuses, codes) = await BuyThroughTwo("--budget", "10", "--budget-period", "month");

        Assert.Equal(10, statuses.Count(s => s == HttpStatusCode.Accepted));
        Assert.Equal(Attempts - 10, statuses.Count(s => s == HttpStatusCode.PaymentRequired));
        Assert.All(codes, c => Assert.Equal("key_budget_exhausted", c));
        AssertChargedFor(10);
        Assert.Equal(10, Store.Query(c => c.Scalar<long>("SELECT SUM(spent) FROM api_key_spend")));
    }

    [Fact]
    public async Task RpmHoldsAcrossTwoApiProcessesThroughRedis()
    {
        var (statuses, codes) = await BuyThroughTwo("--rpm", "5");

        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.Accepted));
        Assert.All(codes, c => Assert.Equal("key_rate_limited", c));
        AssertChargedFor(5);
        // Redis held it: the store's fallback row was never needed.
        Assert.Equal(0, Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM api_key_rate")));
    }
}
