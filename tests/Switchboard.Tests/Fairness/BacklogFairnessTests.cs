using Microsoft.Extensions.DependencyInjection;
using Switchboard.Queue;

namespace Switchboard.Tests.Fairness;

/// <summary>
/// The measurement, on the embedded deployment (SQLite, in-process queue; the same on
/// PostgreSQL with the Redis queue is in the Redis queue's tests): one user's backlog of 5,000
/// does not delay another user's first request by more than one turn of the round.
/// </summary>
public sealed class BacklogFairnessTests
{
    private const int Workers = 4;
    private const int Backlog = 5000;

    [Fact]
    public async Task AnotherUsersRequestStartsWithinOneRoundOfAFiveThousandBacklog()
    {
        await using var app = await TestApp.StartAsync(StoreKind.Sqlite, new() { ["Switchboard:Workers"] = $"{Workers}" }, TestCatalogs.OnEchoRender("""
            offers:
              - {service: work, action: do, handler: echo.render, price: 2, prompt_template: "Do {n}", create_qty: 1, params: {delay_ms: 10}}
            """));
        var alice = await app.AddUserAsync("alice", 2 * Backlog);
        var bob = await app.AddUserAsync("bob", 10);

        // Alice's 5,000, eight at a time; the workers start on them as they come.
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var n = Interlocked.Increment(ref next); n < Backlog; n = Interlocked.Increment(ref next))
            {
                await alice.Client.SubmitAsync("/svc/work/do/", new { n });
            }
        })));
        var waiting = app.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE user_id = @a AND status = 'queued'", ("@a", alice.Id)));
        Assert.True(waiting > 1000, $"alice's backlog was mostly run before bob came ({waiting} left): nothing to measure");

        var b = await bob.Client.SubmitAsync("/svc/work/do/", new { n = 0 });
        // The 202 comes after the enqueue; created_at is taken before the store's writer, which
        // a loaded machine can keep busy long enough for a worker to claim many of alice's.
        var answered = Switchboard.Storage.Clock.NowMs();
        // In the queue's own order, bob's request is next (0 before it), or already taken.
        var position = await app.Server.Services.GetRequiredService<IJobQueue>().PositionAsync(new JobMessage(b, 1, "echo.render"));
        Assert.True(position is null or 0, $"bob's request has {position} before it");

        var done = await SwitchboardFactory.WaitForEnd(bob.Client, b, TimeSpan.FromSeconds(30));
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        // Alice's requests that started after bob's was in the queue and before his started: the
        // ones the workers had already taken (one per worker), plus those the others run while the
        // worker that took bob's waits for a core (on a loaded 2-core machine, 100 ms and more:
        // dozens of 10 ms jobs). First in first out, it would be the whole backlog (over 1,000).
        var started = app.Query(c => c.Scalar<long>("SELECT started_at FROM requests WHERE id = @id", ("@id", b)));
        var between = app.Query(c => c.Scalar<long>(
            "SELECT COUNT(*) FROM requests WHERE user_id = @a AND started_at > @answered AND started_at < @started",
            ("@a", alice.Id), ("@answered", answered), ("@started", started)));
        Assert.InRange(between, 0, 100);

        // Every request succeeds exactly once: one attempt each, one charge each, nothing refunded.
        await Wait.ForValue(
            () => app.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE status = 'succeeded'")),
            (long)Backlog + 1, TimeSpan.FromMinutes(3), "every request to succeed");
        Assert.Equal(0, app.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE attempts <> 1")));
        Assert.Equal(0, alice.Balance);
        Assert.Equal(8, bob.Balance);
        Assert.Equal(Backlog + 1, app.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM ledger WHERE kind = 'charge'")));
        Assert.Equal(0, app.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM ledger WHERE kind = 'refund'")));
    }
}
