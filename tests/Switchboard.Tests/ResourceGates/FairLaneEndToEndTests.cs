using Switchboard.Queue;
using Switchboard.Resources;

namespace Switchboard.Tests.ResourceGates;

/// <summary>
/// The fair lane through the whole app (the in-process gate on SQLite; the Redis one with
/// PostgreSQL): one user's backlog parked for a resource of one slot, another user's single
/// request starts within one turn (as its queue_position said), a cancelled job leaves the lane,
/// every request runs once and the balances are exact.
/// </summary>
[Collection(LoadSensitiveCollection.Name)]
public sealed class FairLaneEndToEndTests
{
    private const int Backlog = 100;

    [Fact]
    public Task OnSqliteEmbedded() => ANewcomerStartsWithinOneTurnOfABackloggedUser(StoreKind.Sqlite, redis: false);

    [Fact]
    public Task OnPostgresWithRedis() => ANewcomerStartsWithinOneTurnOfABackloggedUser(StoreKind.Postgres, redis: true);

    private static async Task ANewcomerStartsWithinOneTurnOfABackloggedUser(StoreKind kind, bool redis)
    {
        await using var app = await TestApp.StartAsync(kind, redis: redis);
        var upstream = app.Own(await FakeOpenAi.StartAsync());
        upstream.Fallback = call => FakeOpenAi.EchoN(call).After(TimeSpan.FromMilliseconds(20));
        var alice = await app.AddUserAsync("alice", 10_000);
        var bob = await app.AddUserAsync("bob", 10_000);
        await Infrastructure.Cli.PushOpenAiEndpoint(app.Store, upstream.BaseUrl);
        await app.ApplyCatalogAsync("""
            handlers:
              - {id: openai.chat, credits: 1, resource: api}
            offers:
              - {service: chat, action: ask, handler: openai.chat, price: 1, prompt_template: "Q {n}", params: {model: m} }
            """);
        await app.PushConfigAsync("resource_map", "resource_map:\n  api: {max_concurrent: 1}\n");

        // The test holds the resource's only slot, so the whole backlog parks; then it lets go.
        var gate = app.Services.GetRequiredService<IResourceGate>();
        var need = app.Services.GetRequiredService<ResourceNeeds>().For("openai.chat")!;
        var holder = new JobMessage("test-holder", 1, "openai.chat");
        Assert.True((await gate.TryAcquireAsync(need, holder)).Acquired);
        var ids = new string[Backlog];
        await Parallel.ForAsync(0, Backlog, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var response = await alice.Client.PostAsJsonAsync("/svc/chat/ask/", new { n = i });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids[i] = await SwitchboardFactory.IdOf(response);
        });
        await Wait.Until(async () => (await gate.StateAsync(need.Spec)).Waiting == Backlog, TimeSpan.FromSeconds(60), "alice's backlog to be parked");

        // A parked job that is cancelled leaves the lane at once (it takes no turn).
        var last = ids[^1];
        Assert.Equal(HttpStatusCode.OK, (await alice.Client.DeleteAsync($"/svc/request/{last}/")).StatusCode);
        await Wait.Until(async () => (await gate.StateAsync(need.Spec)).Waiting == Backlog - 1, TimeSpan.FromSeconds(10), "the cancelled job to leave the lane");

        var submitted = await bob.Client.PostAsJsonAsync("/svc/chat/ask/", new { n = 1_000_000 });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var bobs = await SwitchboardFactory.IdOf(submitted);
        await Wait.Until(async () => (await gate.StateAsync(need.Spec)).Waiting == Backlog, TimeSpan.FromSeconds(10), "bob's job to be parked");
        // No turn has gone yet: Alice's flow and Bob's start level, the lower user id first.
        var position = (await SwitchboardFactory.Get(bob.Client, bobs))["queue_position"]!.GetValue<long>();
        Assert.InRange(position, 1, 2);

        await gate.ReleaseAsync(need, holder, TimeSpan.FromMilliseconds(20));
        Assert.Equal("succeeded", (await SwitchboardFactory.WaitForEnd(bob.Client, bobs, TimeSpan.FromSeconds(60)))["status"]!.GetValue<string>());
        var bobsCall = upstream.Calls.ToList().FindIndex(c => c.Body.Contains("Q 1000000", StringComparison.Ordinal));
        // His call is the one his position said: within one turn of Alice's, not behind her backlog.
        Assert.Equal(position - 1, bobsCall);

        foreach (var id in ids.Where(id => id != last))
        {
            Assert.Equal("succeeded", (await SwitchboardFactory.WaitForEnd(alice.Client, id, TimeSpan.FromSeconds(60)))["status"]!.GetValue<string>());
        }
        Assert.Equal("cancelled", (await SwitchboardFactory.Get(alice.Client, last))["status"]!.GetValue<string>());
        // Every request ran once (the cancelled one never), and each paid once.
        Assert.Equal(Backlog, upstream.Calls.Count);
        Assert.Equal(Backlog, upstream.Calls.Select(c => c.Json["messages"]![0]!["content"]!.GetValue<string>()).Distinct().Count());
        Assert.Equal(10_000 - (Backlog - 1), alice.Balance);
        Assert.Equal(10_000 - 1, bob.Balance);
        Ledger.AssertBalanced(app.Store);
    }
}
