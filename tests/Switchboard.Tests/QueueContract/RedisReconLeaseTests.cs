using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using Switchboard.Queue;
using Switchboard.Recon;

namespace Switchboard.Tests.QueueContract;

/// <summary>One recon leads at a time, and a standby takes over within a lease when the leader dies or stops.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisReconLeaseTests : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(1);

    private readonly RedisSettings _settings = RedisTestServer.Settings();
    private readonly List<IConnectionMultiplexer> _connections = [];
    private readonly List<RedisReconLease> _leases = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var lease in _leases)
        {
            await lease.StopAsync(CancellationToken.None);
            lease.Dispose();
        }
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }
    }

    /// <summary>A recon process: its own connection, as separate processes have.</summary>
    private async Task<(RedisReconLease Lease, IConnectionMultiplexer Connection)> StartRecon(string id)
    {
        var connection = await RedisTestServer.Connect(_settings);
        _connections.Add(connection);
        var lease = new RedisReconLease(connection, _settings, Lease, NullLogger<RedisReconLease>.Instance, id);
        _leases.Add(lease);
        await lease.StartAsync(CancellationToken.None);
        return (lease, connection);
    }

    /// <summary>Starts the first recon and waits until it leads.</summary>
    private async Task<(RedisReconLease Lease, IConnectionMultiplexer Connection)> StartLeader()
    {
        var leader = await StartRecon("leader");
        await Wait.Until(() => leader.Lease.IsLeader, TimeSpan.FromSeconds(2), "the first recon to lead");
        return leader;
    }

    private Task<RedisValue> Holder() => _connections[0].GetDatabase().StringGetAsync(_settings.Key("recon:leader"));

    [Fact]
    public async Task OfTwoLeasesOnOneRedisExactlyOneLeads()
    {
        var (a, _) = await StartRecon("a");
        var (b, _) = await StartRecon("b");
        await Wait.Until(() => a.IsLeader || b.IsLeader, TimeSpan.FromSeconds(2), "a leader");

        // Across several renewals: never both, never neither. Not a wait: the samples must span
        // 2.5 leases to show the invariant holds through renewals.
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < 2.5 * Lease)
        {
            Assert.True(a.IsLeader ^ b.IsLeader, $"a={a.IsLeader} b={b.IsLeader}");
            await Task.Delay(20);
        }
        Assert.Equal(a.IsLeader ? "a" : "b", (string?)await Holder());
    }

    [Fact]
    public async Task WhenTheLeaderStopsRenewingTheStandbyLeadsWithinOneLease()
    {
        var (leader, connection) = await StartLeader();
        var (standby, _) = await StartRecon("standby");
        // Not a wait: half a lease of the standby's attempts, none of which may take the lease.
        await Task.Delay(Lease / 2);
        Assert.False(standby.IsLeader);

        // The leader's process dies: nothing renews nor releases its key.
        var died = Stopwatch.StartNew();
        await connection.DisposeAsync();

        await Wait.Until(() => !leader.IsLeader, Lease, "the old leader to stop acting");
        await Wait.Until(() => standby.IsLeader, 1.5 * Lease, "the standby to take over");
        Assert.InRange(died.Elapsed.TotalMilliseconds, 0, Lease.TotalMilliseconds + 150);
        Assert.False(leader.IsLeader);
    }

    [Fact]
    public async Task AGracefulStopReleasesTheLeaseAtOnce()
    {
        var (leader, _) = await StartLeader();
        var (standby, _) = await StartRecon("standby");
        // Not a wait: the standby is mid-way between two attempts when the leader stops.
        await Task.Delay(Lease / 2);

        var stopped = Stopwatch.StartNew();
        await leader.StopAsync(CancellationToken.None);

        Assert.False(leader.IsLeader);
        Assert.NotEqual("leader", (string?)await Holder());
        // The standby tries every third of a lease: well before the key would have expired.
        await Wait.Until(() => standby.IsLeader, Lease, "the standby to take over");
        Assert.InRange(stopped.Elapsed.TotalMilliseconds, 0, (Lease / 3).TotalMilliseconds + 150);
    }
}
