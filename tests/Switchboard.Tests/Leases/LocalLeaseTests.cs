using System.Data.Common;
using System.Net;
using System.Net.Http.Json;
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
public sealed class LocalLeaseTests : IAsyncLifetime
{
    private const int LeaseSeconds = 3;

    private static readonly TimeSpan Usable = TimeSpan.FromSeconds(2);

    private readonly TestStore _dir = TestStore.Create(StoreKind.Sqlite);
    private FakeOpenAi _upstream = null!;
    private SwitchboardFactory _app = null!;
    private HttpClient _client = null!;
    private string _userId = "";

    public async Task InitializeAsync()
    {
        _upstream = await FakeOpenAi.StartAsync();
        await Infrastructure.Cli.PushOpenAiEndpoint(_dir, _upstream.BaseUrl);
        await Infrastructure.Cli.ApplyCatalog(_dir, """
            handlers:
              - {id: openai.chat, credits: 1}
            offers:
              - {service: chat, action: ask, handler: openai.chat, price: 2, prompt_template: "Q {n}", params: {model: m}}
            """);
        (_userId, var key) = await Infrastructure.Cli.CreateUser(_dir, "alice", 100);
        _app = new SwitchboardFactory(_dir, new()
        {
            ["Switchboard:LeaseSeconds"] = LeaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Switchboard:LeaseMargin"] = "00:00:01",
        });
        _client = _app.ClientFor(key);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
        await _upstream.DisposeAsync();
        await _dir.DisposeAsync();
    }

    private async Task<string> Submit()
    {
        var response = await _client.PostAsJsonAsync("/svc/chat/ask/", new { n = 1 });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await SwitchboardFactory.IdOf(response);
    }

    /// <summary>Takes SQLite's write lock: every write of the server waits (its busy timeout is 10 s) until the block is disposed.</summary>
    private WriteBlock BlockWrites() => new(_dir.Store.Open());

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

    private static async Task WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    private async Task AssertSucceededOnceAt(string id, int attempts)
    {
        var done = await SwitchboardFactory.WaitFor(_client, id, TimeSpan.FromSeconds(20), "succeeded", "failed");
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal(attempts, done["attempts"]!.GetValue<int>());
        Assert.Equal(1, Ledger.Count(_dir, "charge", id));
        Assert.Equal(0, Ledger.Count(_dir, "refund", id));
        Assert.Equal(98, Ledger.Balance(_dir, _userId));
    }

    [Fact]
    public async Task ACallInFlightIsStoppedWhenRenewalsCannotReachTheStoreBeforeTheStoreLeaseEnds()
    {
        // The first call is held far longer than the test; the next one is answered at once.
        _upstream.Fallback = call => call.Index == 1 ? FakeOpenAi.EchoN(call).After(TimeSpan.FromMinutes(5)) : FakeOpenAi.EchoN(call);
        var id = await Submit();
        await _upstream.WaitForCalls(1, TimeSpan.FromSeconds(10));

        DateTimeOffset blockedAt;
        using (BlockWrites())
        {
            blockedAt = DateTimeOffset.UtcNow;
            await WaitUntil(() => _upstream.Ends.ContainsKey(1), TimeSpan.FromSeconds(8), "the held call to be stopped");
        }

        var end = _upstream.Ends[1];
        Assert.False(end.Answered);
        // The last renewal went out before the block: the local lease ended within Usable of it,
        // before the store's lease (LeaseSeconds) could have let recon give the job to anyone.
        Assert.True(end.At - blockedAt < TimeSpan.FromSeconds(LeaseSeconds), $"stopped {(end.At - blockedAt).TotalMilliseconds:0} ms after the store became unreachable");
        // Nothing was written for the stopped attempt; recon requeues it once the store's lease is over.
        await AssertSucceededOnceAt(id, attempts: 2);
        Assert.Equal(2, _upstream.Calls.Count);
    }

    [Fact]
    public async Task AClaimAnsweredAfterTheLocalLeaseLapsedStartsNoCall()
    {
        _upstream.Enqueue(FakeReply.Error(429, "slow down").WithHeader("Retry-After", "2"));
        var id = await Submit();
        long notBefore = 0;
        await WaitUntil(
            () => (notBefore = _dir.Query(c => c.Scalar<long?>("SELECT not_before FROM requests WHERE id = @id AND status = 'queued' AND attempts = 1", ("@id", id)) ?? 0)) > 0,
            TimeSpan.FromSeconds(10), "the retry to be scheduled");

        // The retry's claim is sent at not_before and hangs on the lock; it returns only after more
        // than the usable lease has passed since it was sent.
        using (BlockWrites())
        {
            var release = DateTimeOffset.FromUnixTimeMilliseconds(notBefore) + Usable + TimeSpan.FromSeconds(1);
            await WaitUntil(() => DateTimeOffset.UtcNow >= release, TimeSpan.FromSeconds(8), "the claim's local lease to lapse");
        }

        // The lapsed claim called nothing; recon gave the request back and the next claim ran it.
        await AssertSucceededOnceAt(id, attempts: 3);
        Assert.Equal(2, _upstream.Calls.Count);
    }
}
