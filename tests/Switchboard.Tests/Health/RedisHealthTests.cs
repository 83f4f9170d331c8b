using static Switchboard.Tests.Health.HealthJson;

namespace Switchboard.Tests.Health;

/// <summary>
/// Redis (queue and resource gate) in <c>/readyz</c>: healthy while it answers; degraded, not
/// unhealthy, while it is down (submissions are still stored and answered 202, so the api stays
/// in its load balancer); healthy again when it is back.
/// </summary>
public sealed class RedisHealthTests : AppTests
{
    private readonly RedisServerProcess _redis = new(Directory.CreateTempSubdirectory("sb-redis-").FullName);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_redis.Dir, recursive: true);
    }

    protected override async Task<TestApp> StartAsync()
    {
        await _redis.Start();
        var app = await TestApp.StartAsync(StoreKind.Postgres, catalog: Requests.RequestLifecycleTests.Catalog, redisUri: _redis.Uri);
        app.Own(_redis, afterServer: true);
        return app;
    }

    [Fact]
    public async Task RedisDownIsDegradedAndRedisBackIsHealthy()
    {
        var client = App.CreateClient();
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
