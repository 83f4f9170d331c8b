using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using Switchboard.Queue;

namespace Switchboard.Tests.QueueContract;

/// <summary>
/// A test's connection to the suite's Redis on a key prefix of its own, and the queues it opens
/// on it with the fast options, as several consumers. Disposing it disposes the queues, newest
/// first (each stops its loops while the connection is still there), then the connection.
/// </summary>
internal sealed class RedisQueues : IAsyncDisposable
{
    private readonly List<RedisJobQueue> _owned = [];

    private RedisQueues(RedisSettings settings, IConnectionMultiplexer redis)
    {
        Settings = settings;
        Redis = redis;
    }

    public RedisSettings Settings { get; }

    public IConnectionMultiplexer Redis { get; }

    public IDatabase Db => Redis.GetDatabase();

    public static async Task<RedisQueues> Open()
    {
        var settings = RedisTestServer.Settings();
        return new RedisQueues(settings, await RedisTestServer.Connect(settings));
    }

    /// <summary>A queue as <paramref name="consumer"/> of <paramref name="handler"/>'s stream, disposed with this.</summary>
    public RedisJobQueue NewQueue(string consumer, TimeSpan reclaimAfter, ILogger<RedisJobQueue>? logger = null, string handler = "echo.render", RedisJobQueueOptions? options = null)
    {
        var queue = new RedisJobQueue(Redis, Settings, consumer, reclaimAfter, logger ?? NullLogger<RedisJobQueue>.Instance, options ?? RedisTestServer.FastOptions, [handler]);
        _owned.Add(queue);
        return queue;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var queue in Enumerable.Reverse(_owned))
        {
            await queue.DisposeAsync();
        }
        await Redis.DisposeAsync();
    }
}
