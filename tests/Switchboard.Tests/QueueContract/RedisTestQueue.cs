using StackExchange.Redis;
using Switchboard.Queue;

namespace Switchboard.Tests.QueueContract;

/// <summary>One test's Redis queue with the fast options: a connection of its own on a fresh key prefix.</summary>
internal sealed class RedisTestQueue : IAsyncDisposable
{
    private RedisTestQueue(RedisSettings settings, IConnectionMultiplexer redis)
    {
        Settings = settings;
        Redis = redis;
        Queue = RedisTestServer.FastQueue(redis, settings);
    }

    public RedisSettings Settings { get; }

    public IConnectionMultiplexer Redis { get; }

    public RedisJobQueue Queue { get; }

    public static async Task<RedisTestQueue> Open()
    {
        var settings = RedisTestServer.Settings();
        return new RedisTestQueue(settings, await RedisTestServer.Connect(settings));
    }

    public async ValueTask DisposeAsync()
    {
        await Queue.DisposeAsync();
        await Redis.DisposeAsync();
    }
}

/// <summary>What the queue tests read with: a read that gives up.</summary>
internal static class QueueReads
{
    /// <summary>The next delivery, or null when none came within <paramref name="within"/>.</summary>
    public static async Task<JobDelivery?> ReadWithin(IJobQueue queue, TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        try
        {
            return await queue.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
