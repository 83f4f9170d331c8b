using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Switchboard.Live;
using Switchboard.Observability;
using Switchboard.Queue;
using Switchboard.Tests.QueueContract;

namespace Switchboard.Tests.Live;

/// <summary>
/// The distributed change feed between two "processes" (two feeds, each with its own hub and
/// its own connection) on the real Redis and PostgreSQL: a change published by one reaches the
/// other's followers, its own followers get it once (its echo is skipped), partial output keeps
/// its text and order, and a lost subscription wakes every follower once it is back.
/// </summary>
public abstract class ChangeFeedTests<TFeed> : IAsyncLifetime where TFeed : DistributedChangeFeed
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    protected ChangeHub HubA { get; } = new();

    protected ChangeHub HubB { get; } = new();

    protected DistributedChangeFeed A { get; private set; } = null!;

    protected DistributedChangeFeed B { get; private set; } = null!;

    protected abstract Task<(DistributedChangeFeed A, DistributedChangeFeed B)> CreateAsync();

    /// <summary>Drops the listening connection of both feeds, as a network failure or a server restart would.</summary>
    protected abstract Task KillSubscriptionsAsync();

    /// <summary>The feeds' loggers: what they logged (a send that failed, a lost subscription) is shown when a change does not arrive.</summary>
    private protected CapturingLogger<TFeed> LogA { get; } = new();

    private protected CapturingLogger<TFeed> LogB { get; } = new();

    public virtual async Task InitializeAsync()
    {
        (A, B) = await CreateAsync();
        await A.StartAsync(CancellationToken.None);
        await B.StartAsync(CancellationToken.None);
        await BothListen();
    }

    public virtual async Task DisposeAsync()
    {
        await A.StopAsync(CancellationToken.None);
        await B.StopAsync(CancellationToken.None);
    }

    /// <summary>Until each feed receives the other's changes (subscribing happens in the background).</summary>
    private async Task BothListen()
    {
        foreach (var (from, to) in new[] { (A, HubB), (B, HubA) })
        {
            using var probe = to.Subscribe("probe");
            using var deadline = new CancellationTokenSource(Timeout);
            while (true)
            {
                from.Publish(new RequestChange("probe", ChangeKind.Status));
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
                wait.CancelAfter(200);
                try
                {
                    await probe.ReadAsync(wait.Token);
                    break;
                }
                catch (OperationCanceledException) when (!deadline.IsCancellationRequested)
                {
                }
            }
        }
    }

    private async Task<RequestChange> Next(ChangeSubscription subscription)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            return await subscription.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"no change of {subscription.RequestId} within {Timeout}; the feeds logged [{string.Join("; ", LogA.Lines("A").Concat(LogB.Lines("B")))}]; " +
                $"this process published {SwitchboardMetrics.ChangesPublished.Value}, dropped {SwitchboardMetrics.ChangesDropped.Value}, received {SwitchboardMetrics.ChangesReceived.Value}");
        }
    }

    /// <summary>Nothing more arrives within a while (the echo of a process's own change, say).</summary>
    private static async Task NothingMore(ChangeSubscription subscription)
    {
        await Task.Delay(500);
        Assert.False(subscription.TryRead(out var extra), $"unexpected {extra}");
    }

    [Fact]
    public async Task AChangeCommittedInOneProcessReachesTheOthersFollowersAndItsOwnOnce()
    {
        using var there = HubB.Subscribe("r1");
        using var here = HubA.Subscribe("r1");
        using var other = HubB.Subscribe("r2");
        var received = SwitchboardMetrics.ChangesReceived.Value;

        A.Publish(new RequestChange("r1", ChangeKind.Status));
        A.Publish(new RequestChange("r1", ChangeKind.Partial, "one"));
        A.Publish(new RequestChange("r1", ChangeKind.Partial, "two"));
        A.Publish(new RequestChange("r1", ChangeKind.Progress));

        Assert.Equal(new RequestChange("r1", ChangeKind.Status), await Next(there));
        Assert.Equal(new RequestChange("r1", ChangeKind.Partial, "one"), await Next(there));
        Assert.Equal(new RequestChange("r1", ChangeKind.Partial, "two"), await Next(there));
        Assert.Equal(new RequestChange("r1", ChangeKind.Progress), await Next(there));
        Assert.True(SwitchboardMetrics.ChangesReceived.Value >= received + 4);
        // The publisher's own followers had each change at once, and not again from the echo.
        Assert.Equal(new RequestChange("r1", ChangeKind.Status), await Next(here));
        Assert.Equal("one", (await Next(here)).Text);
        Assert.Equal("two", (await Next(here)).Text);
        Assert.Equal(ChangeKind.Progress, (await Next(here)).Kind);
        await NothingMore(here);
        await NothingMore(other);
    }

    [Fact]
    public async Task APartialPieceOfTheLargestSizeArrivesWhole()
    {
        using var there = HubB.Subscribe("r3");
        // Characters that escape to six bytes each in JSON: the worst case for a message's size.
        var piece = string.Concat(Enumerable.Range(0, RequestChange.MaxPartialChars).Select(i => i % 3 == 0 ? "\u0001" : i % 3 == 1 ? "\"" : "é"));

        string Piece(int i) => piece[..^1] + (char)('a' + i);
        for (var i = 0; i < 20; i++)
        {
            A.Publish(new RequestChange("r3", ChangeKind.Partial, Piece(i)));
        }

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(Piece(i), (await Next(there)).Text);
        }
    }

    [Fact]
    public async Task ALostSubscriptionWakesEveryFollowerOnceItIsBack()
    {
        using var follower = HubB.Subscribe("r4");
        var reconnects = SwitchboardMetrics.ChangeFeedReconnects.Value;

        await KillSubscriptionsAsync();

        // Nothing was published: the wake-up is the feed saying "you may have missed something".
        Assert.Equal(new RequestChange("r4", ChangeKind.Status), await Next(follower));
        Assert.True(SwitchboardMetrics.ChangeFeedReconnects.Value > reconnects);
        // And changes flow again.
        while (follower.TryRead(out _))
        {
        }
        await BothListen();
        A.Publish(new RequestChange("r4", ChangeKind.Partial, "after"));
        RequestChange next;
        do
        {
            next = await Next(follower);
        }
        while (next.Kind == ChangeKind.Status);
        Assert.Equal("after", next.Text);
    }
}

[Collection(RedisCollection.Name)]
public sealed class RedisChangeFeedTests : ChangeFeedTests<RedisChangeFeed>
{
    private readonly RedisSettings _settings = RedisTestServer.Settings();
    private readonly string _name = "feedtest-" + Guid.NewGuid().ToString("N")[..8];
    private IConnectionMultiplexer _redisA = null!, _redisB = null!;

    protected override async Task<(DistributedChangeFeed A, DistributedChangeFeed B)> CreateAsync()
    {
        RedisThreadPool.EnsureHeadroom();
        var options = _settings.Options.Clone();
        options.ClientName = _name;
        _redisA = await ConnectionMultiplexer.ConnectAsync(options);
        _redisB = await ConnectionMultiplexer.ConnectAsync(options);
        foreach (var (redis, log) in new[] { (_redisA, LogA), (_redisB, LogB) })
        {
            redis.ConnectionFailed += (_, e) => log.LogWarning("{Type} connection failed: {Failure} {Error}", e.ConnectionType, e.FailureType, e.Exception?.Message);
        }
        return (new RedisChangeFeed(_redisA, _settings, HubA, LogA), new RedisChangeFeed(_redisB, _settings, HubB, LogB));
    }

    /// <summary>CLIENT KILL of this test's subscription connections only: other tests share the Redis.</summary>
    protected override async Task KillSubscriptionsAsync()
    {
        var admin = _settings.Options.Clone();
        admin.AllowAdmin = true;
        await using var connection = await ConnectionMultiplexer.ConnectAsync(admin);
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var mine = (await server.ClientListAsync()).Where(c => c.Name == _name && c.SubscriptionCount > 0).ToList();
        Assert.Equal(2, mine.Count);
        foreach (var client in mine)
        {
            await server.ClientKillAsync(id: client.Id, skipMe: false);
        }
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _redisA.DisposeAsync();
        await _redisB.DisposeAsync();
    }
}

public sealed class PostgresChangeFeedTests : ChangeFeedTests<PostgresChangeFeed>
{
    private readonly TestStore _store = TestStore.Create(StoreKind.Postgres);

    protected override Task<(DistributedChangeFeed A, DistributedChangeFeed B)> CreateAsync()
    {
        return Task.FromResult<(DistributedChangeFeed, DistributedChangeFeed)>((
            new PostgresChangeFeed(_store.Store, HubA, LogA),
            new PostgresChangeFeed(_store.Store, HubB, LogB)));
    }

    /// <summary>Ends the listening sessions of this test's database (each test has a database of its own).</summary>
    protected override Task KillSubscriptionsAsync()
    {
        var killed = _store.Query(c => c.Scalar<long>(
            $"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN {PostgresChangeFeed.Channel}'"));
        Assert.Equal(2, killed);
        return Task.CompletedTask;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _store.DisposeAsync();
    }
}
