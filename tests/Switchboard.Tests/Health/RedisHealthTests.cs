using System.Net;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;
using static Switchboard.Tests.Health.HealthJson;

namespace Switchboard.Tests.Health;

/// <summary>
/// Redis (queue and resource gate) in <c>/readyz</c>: healthy while it answers; degraded, not
/// unhealthy, while it is down (submissions are still stored and answered 202, so the api stays
/// in its load balancer); healthy again when it is back.
/// </summary>
public sealed class RedisHealthTests : IAsyncLifetime
{
    private readonly RedisServerProcess _redis = new(Directory.CreateTempSubdirectory("sb-redis-").FullName);
    private TestStore _store = null!;
    private SwitchboardFactory _app = null!;

    public async Task InitializeAsync()
    {
        await _redis.Start();
        _store = TestStore.Create(StoreKind.Postgres, redisUri: _redis.Uri);
        await Infrastructure.Cli.ApplyCatalog(_store, Requests.RequestLifecycleTests.Catalog);
        _app = new SwitchboardFactory(_store);
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _redis.DisposeAsync();
        await _store.DisposeAsync();
        Directory.Delete(_redis.Dir, recursive: true);
    }

    [Fact]
    public async Task RedisDownIsDegradedAndRedisBackIsHealthy()
    {
        var client = _app.CreateClient();
        var (_, up) = await WaitFor(client, "/readyz", (s, b) => s == HttpStatusCode.OK && Status(b) == "healthy", TimeSpan.FromSeconds(20));
        Assert.StartsWith("Redis (queue and resource gate) answers", Component(up, "redis")["description"]!.GetValue<string>());

        await _redis.Kill();
        var (status, down) = await WaitFor(client, "/readyz", (_, b) => Status(Component(b, "redis")) != "healthy", TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("degraded", Status(down));
        Assert.Equal("degraded", Status(Component(down, "redis")));
        Assert.StartsWith("Redis (queue and resource gate) cannot be reached", Component(down, "redis")["description"]!.GetValue<string>());
        Assert.Equal("healthy", Status(Component(down, "store")));
        Assert.DoesNotContain(_redis.Uri, down.ToJsonString());

        await _redis.Start();
        await WaitFor(client, "/readyz", (s, b) => s == HttpStatusCode.OK && Status(b) == "healthy", TimeSpan.FromSeconds(30));
    }
}
