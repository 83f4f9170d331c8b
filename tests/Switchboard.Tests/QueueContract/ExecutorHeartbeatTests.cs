using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using Switchboard.Execution;
using Switchboard.Queue;

namespace Switchboard.Tests.QueueContract;

[Collection(RedisCollection.Name)]
public sealed class ExecutorHeartbeatTests
{
    [Fact]
    public async Task TheHeartbeatKeyExpiresByItselfAndIsDeletedOnStop()
    {
        var settings = RedisTestServer.Settings();
        await using var redis = await RedisTestServer.Connect(settings);
        var database = redis.GetDatabase();
        var interval = TimeSpan.FromMilliseconds(200);
        var inFlight = 3;
        using var heartbeat = new ExecutorHeartbeat(redis, settings, "host:42:abcd", ["echo.render", "openai.chat"], 16, () => inFlight, interval, NullLogger<ExecutorHeartbeat>.Instance);
        var key = settings.Key("executor:host:42:abcd");
        var index = settings.Key("executors");

        await heartbeat.StartAsync(CancellationToken.None);
        await Wait.Until(() => database.KeyExistsAsync(key), TimeSpan.FromSeconds(2), "the heartbeat key");

        var ttl = await database.KeyTimeToLiveAsync(key);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value.TotalMilliseconds, 1, 3 * interval.TotalMilliseconds);
        var beat = JsonNode.Parse((string)(await database.StringGetAsync(key))!)!.AsObject();
        Assert.Equal("host:42:abcd", (string?)beat["owner"]);
        Assert.Equal(["echo.render", "openai.chat"], beat["handlers"]!.AsArray().Select(h => (string?)h));
        Assert.Equal(16, (int?)beat["workers"]);
        Assert.Equal(3, (int?)beat["in_flight"]);
        Assert.False(string.IsNullOrEmpty((string?)beat["version"]));
        Assert.False(string.IsNullOrEmpty((string?)beat["started_at"]));
        Assert.NotNull(await database.SortedSetScoreAsync(index, "host:42:abcd"));

        // Beats keep it alive past its TTL and carry the current load.
        inFlight = 5;
        // Not a wait: time must pass beyond the key's TTL (3 beats) to show the beats keep it.
        await Task.Delay(4 * interval);
        Assert.Equal(5, (int?)JsonNode.Parse((string)(await database.StringGetAsync(key))!)!["in_flight"]);

        await heartbeat.StopAsync(CancellationToken.None);
        Assert.False(await database.KeyExistsAsync(key));
        Assert.Null(await database.SortedSetScoreAsync(index, "host:42:abcd"));
    }

    [Fact]
    public async Task ExecutorsSilentForTenBeatsLeaveTheIndex()
    {
        var settings = RedisTestServer.Settings();
        await using var redis = await RedisTestServer.Connect(settings);
        var database = redis.GetDatabase();
        var index = settings.Key("executors");
        await database.SortedSetAddAsync(index, "long-gone", 1);
        using var heartbeat = new ExecutorHeartbeat(redis, settings, "alive", [], 1, () => 0, TimeSpan.FromMilliseconds(200), NullLogger<ExecutorHeartbeat>.Instance);

        await heartbeat.StartAsync(CancellationToken.None);
        await Wait.Until(async () => await database.SortedSetScoreAsync(index, "alive") is not null, TimeSpan.FromSeconds(2), "the live executor in the index");
        Assert.Null(await database.SortedSetScoreAsync(index, "long-gone"));
        await heartbeat.StopAsync(CancellationToken.None);
    }
}
