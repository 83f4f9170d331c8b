using System.Net.Sockets;
using StackExchange.Redis;
using Switchboard.Queue;

namespace Switchboard.Tests.QueueContract;

/// <summary>
/// The Redis tests run one at a time, so their timing assertions (reclaim, delays, leases) are
/// not disturbed by each other. Every test still uses its own key prefix.
/// </summary>
[CollectionDefinition(Name)]
public sealed class RedisCollection
{
    public const string Name = "Redis";
}

/// <summary>The throwaway Redis of the suite (<c>SWITCHBOARD_TEST_REDIS</c>), with a fresh key prefix per caller.</summary>
internal static class RedisTestServer
{
    /// <summary>Short times so reclaim, delays and leases are seen within seconds.</summary>
    public static RedisJobQueueOptions FastOptions => new()
    {
        BlockTime = TimeSpan.FromMilliseconds(500),
        MoverInterval = TimeSpan.FromMilliseconds(50),
        ReclaimInterval = TimeSpan.FromMilliseconds(200),
    };

    /// <summary>A queue on <paramref name="redis"/> with the fast options, as one consumer (<c>consumer-1</c>).</summary>
    public static RedisJobQueue FastQueue(IConnectionMultiplexer redis, RedisSettings settings) =>
        new(redis, settings, "consumer-1", TimeSpan.FromSeconds(30),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<RedisJobQueue>.Instance, FastOptions, ["echo.render"]);

    public static RedisSettings Settings(string? prefix = null) =>
        RedisSettings.Parse(TestServices.Redis, prefix ?? $"t{Guid.NewGuid():N}"[..13]);

    /// <summary>Connects as the registration does, with the same thread-pool headroom (see <see cref="RedisThreadPool"/>).</summary>
    public static async Task<IConnectionMultiplexer> Connect(RedisSettings settings)
    {
        RedisThreadPool.EnsureHeadroom();
        return await ConnectionMultiplexer.ConnectAsync(settings.Options.Clone());
    }

    /// <summary>Deletes every key of the prefix: what a Redis restarted without its data looks like to that deployment.</summary>
    public static async Task DeleteAllKeys(RedisSettings settings)
    {
        var admin = settings.Options.Clone();
        admin.AllowAdmin = true;
        await using var connection = await ConnectionMultiplexer.ConnectAsync(admin);
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var keys = new List<RedisKey>();
        await foreach (var key in server.KeysAsync(settings.Options.DefaultDatabase ?? 0, $"{{{settings.KeyPrefix}}}:*"))
        {
            keys.Add(key);
        }
        if (keys.Count > 0)
        {
            await connection.GetDatabase().KeyDeleteAsync([.. keys]);
        }
    }

    /// <summary>A 127.0.0.1 port with nothing listening (bound, then released).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
