using StackExchange.Redis;
using Switchboard.Queue;
using Switchboard.Tests.Distributed;

namespace Switchboard.Tests.Upgrades;

/// <summary>
/// A rolling upgrade seen from an executor of this build, as OS processes on PostgreSQL and Redis:
/// a request whose row a newer api wrote (format 2), and one whose row and queue entry it wrote,
/// are neither run, nor acked, nor failed, nor sent again by recon; the executor says what it
/// left; a request of today's formats (an entry without <c>v</c>) runs beside them. Once they
/// are readable (the test plays the newer build: a row set back to format 1, an entry a newer
/// consumer took and handed on as format 1) they complete, each charged once: they were left,
/// not lost.
/// </summary>
public sealed class ExecutorLeavesNewerFormatsTests() : ProcessTestBase(Catalog)
{
    private const string Catalog = """
        handlers:
          - {id: echo.render, credits: 1}
        offers:
          - {service: work, action: echo, handler: echo.render, price: 1, prompt_template: "Echo {n}", params: {delay_ms: 10}}
        """;

    private IConnectionMultiplexer? _redis;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    private RedisSettings Settings => RedisSettings.Parse(TestServices.Redis, Store.RedisPrefix!);

    private RedisKey Stream => Settings.Key("jobs:echo.render");

    private IDatabase Db => _redis!.GetDatabase();

    private void SetFormat(string id, int format) =>
        Store.Query(c => c.Execute("UPDATE requests SET format = @f WHERE id = @id", ("@f", format), ("@id", id)));

    private (string Status, int Attempts) Row(string id) =>
        Store.Query(c => (c.Scalar<string>("SELECT status FROM requests WHERE id = @id", ("@id", id))!, (int)c.Scalar<long>("SELECT attempts FROM requests WHERE id = @id", ("@id", id))));

    private async Task<StreamEntry> EntryOf(string id) =>
        (await Db.StreamRangeAsync(Stream)).Single(e => (string?)e[RedisQueueKeys.Field] == $"{id}:1");

    [Fact]
    public async Task AnExecutorLeavesNewerRowsAndEntriesQueuedAndRunsThemOnceTheyAreReadable()
    {
        _redis = await ConnectionMultiplexer.ConnectAsync(Settings.Options.Clone());
        // Fairness off for the api: its messages go straight into the stream (not into fair flows
        // staged for executors' demand), where the test rewrites one as a newer build's.
        var api = await Start("api", new Dictionary<string, string> { ["Switchboard__Fair"] = "false" });
        using var client = api.Client(Key);
        var ids = new List<string>();
        for (var n = 1; n <= 3; n++)
        {
            var response = await client.PostAsJsonAsync("/svc/work/echo/", new { n });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids.Add(await SwitchboardFactory.IdOf(response));
        }
        var (rowNewer, bothNewer, today) = (ids[0], ids[1], ids[2]);
        await Wait.Until(() => Db.StreamLength(Stream) == 3, TimeSpan.FromSeconds(10), () => $"the api's three entries in the stream ({Db.StreamLength(Stream)})");
        // What a newer api would have written: rows of format 2; for one of them its entry too (the same text, v = 2: the copy held is the same).
        SetFormat(rowNewer, 2);
        SetFormat(bothNewer, 2);
        await Db.StreamDeleteAsync(Stream, [(await EntryOf(bothNewer)).Id]);
        await Db.StreamAddAsync(Stream, [new NameValueEntry(RedisQueueKeys.Field, $"{bothNewer}:1"), new NameValueEntry(RedisQueueKeys.Version, "2")]);
        // This build's api writes today's entries: no v.
        Assert.True((await EntryOf(today))[RedisQueueKeys.Version].IsNull);
        RedisValue[] entries = [(await EntryOf(rowNewer)).Id, (await EntryOf(bothNewer)).Id];

        var recon = await Start("recon");
        var executor = await Start("executor", "--workers", "4");

        Assert.Equal("succeeded", (await SwitchboardFactory.WaitForEnd(client, today))["status"]?.GetValue<string>());
        await Wait.Until(
            () => executor.Logged($"Left request {rowNewer} run 1 of format 2 for a newer build") && executor.Logged($"({bothNewer}:1) of format 2 for a newer build"),
            TimeSpan.FromSeconds(20), () => "the executor to say what it left");
        // Two leases (3 s) and several recon passes (0.5 s) later, they are where they were.
        await Task.Delay(TimeSpan.FromSeconds(7));
        Assert.Equal(("queued", 0), Row(rowNewer));
        Assert.Equal(("queued", 0), Row(bothNewer));
        // Each has its one entry, the same, pending (delivered, never acked); recon sent no second copy.
        Assert.Equal(entries, (await Db.StreamRangeAsync(Stream)).Select(e => e.Id));
        Assert.Equal(2, (await Db.StreamPendingAsync(Stream, RedisQueueKeys.Group)).PendingMessageCount);
        Assert.False(recon.Logged("Recon dispatched request"));
        Assert.Equal(1, (long)await Db.HashGetAsync(Settings.Key("held"), $"{rowNewer}:1"));
        Assert.Equal(1, (long)await Db.HashGetAsync(Settings.Key("held"), $"{bothNewer}:1"));

        // The upgrade. A build that reads format 2 would run the row as it is; here it becomes format 1,
        // and the entry left pending comes back to the executor after its lease.
        SetFormat(rowNewer, 1);
        // A consumer of the newer build takes the newer entry as it was written and hands it on as today's.
        var entry = await EntryOf(bothNewer);
        var taken = Assert.Single(await Db.StreamClaimAsync(Stream, RedisQueueKeys.Group, "new-build", 0, [entry.Id]));
        Assert.Equal("2", (string?)taken[RedisQueueKeys.Version]);
        SetFormat(bothNewer, 1);
        await Db.StreamAcknowledgeAsync(Stream, RedisQueueKeys.Group, entry.Id);
        await Db.StreamDeleteAsync(Stream, [entry.Id]);
        await Db.StreamAddAsync(Stream, RedisQueueKeys.Field, $"{bothNewer}:1");

        Assert.Equal("succeeded", (await SwitchboardFactory.WaitForEnd(client, rowNewer, TimeSpan.FromSeconds(30)))["status"]?.GetValue<string>());
        Assert.Equal("succeeded", (await SwitchboardFactory.WaitForEnd(client, bothNewer, TimeSpan.FromSeconds(30)))["status"]?.GetValue<string>());
        await Wait.Until(() => Db.StreamLength(Stream) == 0, TimeSpan.FromSeconds(10), () => "every entry acked");
        Assert.Equal(3, Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM ledger WHERE kind = 'charge'")));
        Assert.Equal(0, Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM ledger WHERE kind = 'refund'")));
        Ledger.AssertBalanced(Store);
    }
}
