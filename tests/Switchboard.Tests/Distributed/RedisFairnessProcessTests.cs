namespace Switchboard.Tests.Distributed;

/// <summary>
/// The fair Redis queue end to end, as OS processes on PostgreSQL and Redis (api, one executor
/// with four workers, recon): one user's 5,000-request backlog does not delay another user's
/// request by more than one round, and every request runs once, charged once.
/// </summary>
public sealed class RedisFairnessProcessTests() : ProcessTestBase(Catalog)
{
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: work, action: echo, handler: echo.render, price: 1, prompt_template: "Work on {n}", params: {delay_ms: 5}}
        """);

    private const int Backlog = 5000;
    private const int Workers = 4;

    private long Count(string status) =>
        Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE status = @s", ("@s", status)));

    private string Statuses() => $"queued {Count("queued")}, running {Count("running")}, succeeded {Count("succeeded")}, failed {Count("failed")}";

    [Fact]
    public async Task Another_users_request_starts_within_one_round_behind_a_5000_request_backlog_and_all_run_once()
    {
        var api = await Start("api");
        await Start("recon");
        using var alice = api.Client(Key);
        await Parallel.ForAsync(0, Backlog, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var response = await alice.PostAsJsonAsync("/svc/work/echo/", new { n = i });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        });
        var executor = await Start("executor", "--workers", Workers.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Wait.Until(() => Count("succeeded") >= 100, TimeSpan.FromSeconds(60), Statuses);

        var bob = await App.AddUserAsync("bob", 100);
        using var bobClient = api.Client(bob.Key);
        var before = Store.Query(c => c.Scalar<long>("SELECT COALESCE(MAX(started_at), 0) FROM requests WHERE user_id = @u", ("@u", UserId)));
        var submitted = await bobClient.PostAsJsonAsync("/svc/work/echo/", new { n = -1 });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var bobsId = await SwitchboardFactory.IdOf(submitted);
        await Wait.Until(() => Store.Query(c => c.Scalar<string>("SELECT status FROM requests WHERE id = @id", ("@id", bobsId))) == "succeeded",
            TimeSpan.FromSeconds(30), () => "Bob's request to succeed; " + Statuses());
        Assert.True(Count("queued") > 1000, "Alice's backlog should still be there: " + Statuses());

        // Alice's requests that started after the last one before Bob came, and before his: those
        // in flight (staged or fetched for the four waiting workers) and her one turn.
        var bobStarted = Store.Query(c => c.Scalar<long>("SELECT started_at FROM requests WHERE id = @id", ("@id", bobsId)));
        var aliceBetween = Store.Query(c => c.Scalar<long>(
            "SELECT COUNT(*) FROM requests WHERE user_id = @u AND started_at > @before AND started_at < @bob",
            ("@u", UserId), ("@before", before), ("@bob", bobStarted)));
        Assert.InRange(aliceBetween, 0, (2 * Workers) + 1);

        await Wait.Until(() => Count("succeeded") == Backlog + 1, TimeSpan.FromSeconds(180), Statuses);
        // Once each: one success and one charge per request, and never two executions at once (a
        // claim lost under a starved machine's 3 s lease may be claimed again, never run alongside).
        ExecutorLogs.AssertNeverRanTwiceAtOnce([executor], []);
        Store.Query(c =>
        {
            using var command = c.Sql("SELECT r.id, (SELECT COUNT(*) FROM ledger l WHERE l.request_id = r.id AND l.kind = 'charge'), (SELECT COUNT(*) FROM ledger l WHERE l.request_id = r.id AND l.kind = 'refund') FROM requests r");
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                Assert.True(reader.GetInt64(1) == 1, $"request {reader.GetString(0)} was charged {reader.GetInt64(1)} times");
                Assert.True(reader.GetInt64(2) == 0, $"request {reader.GetString(0)} was refunded");
            }
            return 0;
        });
        Assert.Equal(10_000 - Backlog, Ledger.Balance(Store, UserId));
        Assert.Equal(99, Ledger.Balance(Store, bob.Id));
        Ledger.AssertBalanced(Store);
    }
}
