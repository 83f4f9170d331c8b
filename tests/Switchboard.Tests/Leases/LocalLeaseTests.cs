using System.Data.Common;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Leases;

/// <summary>
/// An executor's own view of a lease (Execution/InFlightJobs.cs): the store's lease less
/// <c>LeaseMargin</c>, on its monotonic clock, from before the claim and each renewal. Past it
/// no upstream call goes on or starts. The store is made unreachable for writes by holding
/// SQLite's write lock from the test, so renewals (or a claim) hang as they would if the
/// process stalled or lost its store.
/// </summary>
public sealed class LocalLeaseTests
{
    private const int LeaseSeconds = 3;

    private static readonly TimeSpan Usable = TimeSpan.FromSeconds(2);

    /// <summary>A serve in memory on SQLite with a 3 s lease and a 1 s margin, the chat offer on a fake upstream, and alice.</summary>
    private sealed class LeaseApp
    {
        public required TestApp App { get; init; }

        public required FakeOpenAi Upstream { get; init; }

        public required TestUser Alice { get; init; }

        public static async Task<LeaseApp> StartAsync(TestApp app)
        {
            var upstream = app.Own(await FakeOpenAi.StartAsync());
            await ChatOffer.Install(app.Store, upstream, price: 2);
            return new LeaseApp { App = app, Upstream = upstream, Alice = await app.AddUserAsync("alice", 100) };
        }

        public async Task<string> Submit() => (await ChatOffer.Submit(Alice.Client, 1))[0];

        /// <summary>Takes SQLite's write lock: every write of the server waits (its busy timeout is 10 s) until the block is disposed.</summary>
        public WriteBlock BlockWrites() => new(App.Store.Store.Open());

        /// <summary>The request succeeded on <paramref name="attempts"/>, charged once and never refunded.</summary>
        public async Task AssertSucceededOnceAt(string id, int attempts)
        {
            var done = await SwitchboardFactory.WaitFor(Alice.Client, id, TimeSpan.FromSeconds(20), "succeeded", "failed");
            Assert.Equal("succeeded", done["status"]!.GetValue<string>());
            Assert.Equal(attempts, done["attempts"]!.GetValue<int>());
            Assert.Equal(1, Ledger.Count(App.Store, "charge", id));
            Assert.Equal(0, Ledger.Count(App.Store, "refund", id));
            Assert.Equal(98, Alice.Balance);
        }
    }

    private static async Task<TestApp> StartServer() => await TestApp.StartAsync(StoreKind.Sqlite, new()
    {
        ["Switchboard:LeaseSeconds"] = LeaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Switchboard:LeaseMargin"] = "00:00:01",
    });

    private sealed class WriteBlock : IDisposable
    {
        private readonly DbConnection _connection;

        public WriteBlock(DbConnection connection)
        {
            _connection = connection;
            _connection.Execute("BEGIN IMMEDIATE");
        }

        public void Dispose()
        {
            _connection.Execute("ROLLBACK");
            _connection.Dispose();
        }
    }

    [Fact]
    public async Task ACallInFlightIsStoppedWhenRenewalsCannotReachTheStoreBeforeTheStoreLeaseEnds()
    {
        await using var server = await StartServer();
        var app = await LeaseApp.StartAsync(server);
        // The first call is held far longer than the test; the next one is answered at once.
        app.Upstream.Fallback = call => call.Index == 1 ? FakeOpenAi.EchoN(call).After(TimeSpan.FromMinutes(5)) : FakeOpenAi.EchoN(call);
        var id = await app.Submit();
        await app.Upstream.WaitForCalls(1, TimeSpan.FromSeconds(10));

        DateTimeOffset blockedAt;
        using (app.BlockWrites())
        {
            blockedAt = DateTimeOffset.UtcNow;
            await Wait.Until(() => app.Upstream.Ends.ContainsKey(1), TimeSpan.FromSeconds(8), "the held call to be stopped");
        }

        var end = app.Upstream.Ends[1];
        Assert.False(end.Answered);
        // The last renewal went out before the block: the local lease ended within Usable of it,
        // before the store's lease (LeaseSeconds) could have let recon give the job to anyone.
        Assert.True(end.At - blockedAt < TimeSpan.FromSeconds(LeaseSeconds), $"stopped {(end.At - blockedAt).TotalMilliseconds:0} ms after the store became unreachable");
        // Nothing was written for the stopped attempt; recon requeues it once the store's lease is over.
        await app.AssertSucceededOnceAt(id, attempts: 2);
        Assert.Equal(2, app.Upstream.Calls.Count);
    }

    [Fact]
    public async Task AClaimAnsweredAfterTheLocalLeaseLapsedStartsNoCall()
    {
        await using var server = await StartServer();
        var app = await LeaseApp.StartAsync(server);
        app.Upstream.Enqueue(FakeReply.Error(429, "slow down").WithHeader("Retry-After", "2"));
        var id = await app.Submit();
        long notBefore = 0;
        await Wait.Until(
            () => (notBefore = app.App.Query(c => c.Scalar<long?>("SELECT not_before FROM requests WHERE id = @id AND status = 'queued' AND attempts = 1", ("@id", id)) ?? 0)) > 0,
            TimeSpan.FromSeconds(10), "the retry to be scheduled");

        // The retry's claim is sent at not_before and hangs on the lock; it returns only after more
        // than the usable lease has passed since it was sent.
        using (app.BlockWrites())
        {
            // 3 s of slack: on a busy CI the retry's timer can fire a second or more after
            // not_before, and its claim must still have been waiting longer than the usable lease.
            // (The block stays under the writer's 10 s busy timeout.)
            var release = DateTimeOffset.FromUnixTimeMilliseconds(notBefore) + Usable + TimeSpan.FromSeconds(3);
            await Wait.Until(() => DateTimeOffset.UtcNow >= release, TimeSpan.FromSeconds(15), "the claim's local lease to lapse");
        }

        // The lapsed claim called nothing; recon gave the request back and the next claim ran it.
        await app.AssertSucceededOnceAt(id, attempts: 3);
        Assert.Equal(2, app.Upstream.Calls.Count);
    }
}
