namespace Switchboard.Tests.Distributed;

/// <summary>
/// Redis killed and restarted empty in the middle of a run: the API keeps answering 202 (the
/// request is committed in PostgreSQL before any Redis call), and recon dispatches again what
/// Redis lost, so every accepted request finishes, charged once.
/// </summary>
public sealed class RedisOutageTests : AppTests
{
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: work, action: quick, handler: echo.render, price: 1, prompt_template: "Work on {n}", params: {delay_ms: 20}}
        """);

    private readonly RedisServerProcess _redis = new(Directory.CreateTempSubdirectory("sb-redis-").FullName);
    private HttpClient _client = null!;
    private string _userId = "";

    protected override async Task<TestApp> StartAsync()
    {
        await _redis.Start();
        var app = await TestApp.StartAsync(StoreKind.Postgres, new() { ["Switchboard:LeaseSeconds"] = "3" }, Catalog, redisUri: _redis.Uri);
        // The server uses this Redis until it stops.
        app.Own(_redis, afterServer: true);
        var alice = await app.AddUserAsync("alice", 10_000);
        (_userId, _client) = (alice.Id, alice.Client);
        return app;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_redis.Dir, recursive: true);
    }

    private long Count(string status) =>
        App.Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE status = @s", ("@s", status)));

    private async Task<List<string>> Submit(int from, int count)
    {
        var ids = new List<string>();
        for (var i = from; i < from + count; i++)
        {
            var response = await _client.PostAsJsonAsync("/svc/work/quick/", new { n = i });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids.Add(await SwitchboardFactory.IdOf(response));
        }
        return ids;
    }

    [Fact]
    public async Task NoAcceptedRequestIsLostWhenRedisRestartsEmpty()
    {
        var ids = await Submit(0, 50);

        await _redis.Kill();
        var started = DateTime.UtcNow;
        ids.AddRange(await Submit(50, 100));
        var whileDown = DateTime.UtcNow - started;
        Assert.True(whileDown < TimeSpan.FromSeconds(10), $"100 submissions took {whileDown} while Redis was down: the API must not wait for it");
        Assert.True(Count("queued") > 0, "with Redis down, the new requests wait in the store");

        await _redis.Start();
        ids.AddRange(await Submit(150, 50));

        await Wait.Until(() => Count("succeeded") >= ids.Count, TimeSpan.FromSeconds(60),
            () => $"all {ids.Count} to succeed: {Count("succeeded")} did; queued {Count("queued")}, running {Count("running")}", poll: TimeSpan.FromMilliseconds(100));
        foreach (var id in ids)
        {
            Assert.Equal(1, Ledger.Count(App.Store, "charge", id));
            Assert.Equal(0, Ledger.Count(App.Store, "refund", id));
        }
        Assert.Equal(10_000 - 200, Ledger.Balance(App.Store, _userId));
        Ledger.AssertBalanced(App.Store);
    }
}
