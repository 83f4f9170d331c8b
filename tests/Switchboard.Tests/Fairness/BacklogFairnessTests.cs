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
        // In the queue's own order, bob's request is next (0 before it), or already taken.
        var position = await app.Server.Services.GetRequiredService<IJobQueue>().PositionAsync(new JobMessage(b, 1, "echo.render"));
        Assert.True(position is null or 0, $"bob's request has {position} before it");

        var done = await SwitchboardFactory.WaitForEnd(bob.Client, b, TimeSpan.FromSeconds(30));
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        // Alice's requests that started after bob's was stored and before it started: at most the
        // ones the workers had already taken from the queue when bob's came (one per worker), plus
        // one a worker may take in the moment between bob's commit and his enqueue.
        var (created, started) = app.Query(c =>
        {
            using var command = c.Sql("SELECT created_at, started_at FROM requests WHERE id = @id", ("@id", b));
            using var reader = command.ExecuteReader();
            reader.Read();
            return (reader.GetInt64(0), reader.GetInt64(1));
        });
        var between = app.Query(c => c.Scalar<long>(
            "SELECT COUNT(*) FROM requests WHERE user_id = @a AND started_at > @created AND started_at < @started",
            ("@a", alice.Id), ("@created", created), ("@started", started)));
        Assert.InRange(between, 0, Workers + 1);

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
