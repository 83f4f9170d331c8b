using Switchboard.Config;
using Switchboard.Queue;
using Switchboard.Resources;

namespace Switchboard.Tests.Endpoints;

/// <summary>
/// <c>weighted</c> and <c>least-busy</c> over endpoint profiles, and a profile's own resource,
/// on echo.render (which ignores <c>params.endpoint</c>: the choice is what is measured, from
/// each request's recorded <c>endpoint</c>).
/// </summary>
public sealed class EndpointBalancingTests : AppTests
{
    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        // echo.render never calls its profiles: the URLs are only there because a profile needs one.
        await app.PushConfigAsync("svc_handlers", """
            echo:
              endpoints:
                big: {base_url: "http://127.0.0.1:9/v1"}
                small: {base_url: "http://127.0.0.1:9/v1"}
                a: {base_url: "http://127.0.0.1:9/v1", resource: ra}
                b: {base_url: "http://127.0.0.1:9/v1", resource: rb}
            """);
        await app.PushConfigAsync("resource_map", """
            resource_map:
              ra: {max_concurrent: 4}
              rb: {max_concurrent: 4}
            """);
        await app.ApplyCatalogAsync("""
            handlers:
              - {id: echo.render, credits: 1}
            offers:
              - {service: text, action: weighted, handler: echo.render, price: 1, prompt_template: "W {n}",
                 params: {endpoints: [{name: big, weight: 3}, {name: small, weight: 1}], endpoint_policy: weighted} }
              - {service: text, action: free, handler: echo.render, price: 1, prompt_template: "F {n}",
                 params: {endpoints: [a, b], endpoint_policy: least-busy} }
              - {service: text, action: first, handler: echo.render, price: 1, prompt_template: "A {n}",
                 params: {endpoints: [a, b]} }
            """);
        _alice = await app.AddUserAsync("alice", 10_000);
        return app;
    }

    private Dictionary<string, long> EndpointCounts(string action) => App.Query(c =>
    {
        using var command = c.Sql("SELECT endpoint, COUNT(*) FROM requests WHERE action = @a AND status = 'succeeded' GROUP BY endpoint", ("@a", action));
        using var reader = command.ExecuteReader();
        var counts = new Dictionary<string, long>();
        while (reader.Read())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }
        return counts;
    });

    [Fact]
    public async Task WeightsThreeToOneHoldOverAThousandRequests()
    {
        await Parallel.ForAsync(0, 1000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (n, _) =>
            await _alice.Client.SubmitAsync("/svc/text/weighted/", new { n }));
        await Wait.Until(() => EndpointCounts("weighted").Values.Sum() == 1000, TimeSpan.FromSeconds(120), "all 1,000 requests to succeed");

        // One process, one rotation: each cycle of four claims is three big, one small
        // (EndpointPolicyTests checks the order); 1,000 is 250 whole cycles.
        var counts = EndpointCounts("weighted");
        Assert.InRange(counts["big"], 749, 751);
        Assert.InRange(counts["small"], 249, 251);
        Assert.Equal(10_000 - 1000, _alice.Balance);
    }

    [Fact]
    public async Task LeastBusyPicksTheEndpointWhoseResourceHasMoreFreeSlots()
    {
        var gate = App.Services.GetRequiredService<IResourceGate>();
        var resources = App.Services.GetRequiredService<AppConfigs>().Resources.Resources;
        var (ra, rb) = (new ResourceNeed(resources["ra"], 0), new ResourceNeed(resources["rb"], 0));
        var held = new List<(ResourceNeed, JobMessage)>();
        async Task Hold(ResourceNeed need, int count)
        {
            for (var i = 0; i < count; i++)
            {
                var job = new JobMessage($"hold-{need.Name}-{held.Count}", 1, "echo.render");
                Assert.True((await gate.TryAcquireAsync(need, job)).Acquired);
                held.Add((need, job));
            }
        }
        async Task<string> Served(int n)
        {
            var id = await _alice.Client.SubmitAsync("/svc/text/free/", new { n });
            var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id);
            Assert.Equal("succeeded", done["status"]!.GetValue<string>());
            return done["endpoint"]!.GetValue<string>();
        }

        // Both free: the first in order.
        Assert.Equal("a", await Served(0));
        // a's resource busier: b.
        await Hold(ra, 3);
        Assert.Equal("b", await Served(1));
        // b's busier still: a.
        await Hold(rb, 4);
        Assert.Equal("a", await Served(2));
        foreach (var (need, job) in held)
        {
            await gate.ReleaseAsync(need, job, null);
        }
    }

    [Fact]
    public async Task AProfilesOwnResourceLimitsItsCalls()
    {
        var gate = App.Services.GetRequiredService<IResourceGate>();
        var ra = new ResourceNeed(App.Services.GetRequiredService<AppConfigs>().Resources.Resources["ra"], 0);
        var holders = Enumerable.Range(0, 4).Select(i => new JobMessage($"full-{i}", 1, "echo.render")).ToList();
        foreach (var job in holders)
        {
            Assert.True((await gate.TryAcquireAsync(ra, job)).Acquired);
        }

        // Fallback's first endpoint is a, whose resource ra is full: the request waits in ra's lane, for a.
        var id = await _alice.Client.SubmitAsync("/svc/text/first/", new { n = 1 });
        var waiting = await _alice.Client.WaitForRequest(id, r => r["waiting_for"]?.GetValue<string>() == "ra", TimeSpan.FromSeconds(10));
        Assert.Equal("queued", waiting["status"]!.GetValue<string>());

        foreach (var job in holders)
        {
            await gate.ReleaseAsync(ra, job, null);
        }
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id);
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal("a", done["endpoint"]!.GetValue<string>());
        Assert.Equal(1, done["attempts"]!.GetValue<int>());
    }
}
