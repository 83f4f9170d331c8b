using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Switchboard.Storage;
using Switchboard.Tests.Distributed;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Leases;

/// <summary>
/// The distributed deployment stays lease-based: an executor paused (SIGSTOP) past its lease has
/// its jobs given to another executor; once it resumes, its own view of the lease has lapsed, so
/// the calls it still had open are stopped at once and it starts none, and each request has one
/// stored outcome, charged once.
/// </summary>
public sealed partial class ExecutorPauseTests() : ProcessTestBase(ChatOffer.Catalog(price: 1))
{
    private const int Requests = 20;

    [GeneratedRegex(@"Q \d+")]
    private static partial Regex Prompt();

    private static async Task Signal(SwitchboardProcess process, string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", [$"-{signal}", process.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    private long Count(string status) =>
        Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE status = @s", ("@s", status)));

    [Fact]
    public async Task AnExecutorPausedPastItsLeaseStopsItsCallsOnResumeAndStartsNone()
    {
        await using var upstream = await FakeOpenAi.StartAsync();
        // A prompt's first call (the paused executor's) is held past the test; a second one is answered at once.
        var seen = new ConcurrentDictionary<string, int>();
        upstream.Fallback = call => seen.AddOrUpdate(Prompt().Match(call.Body).Value, 1, (_, n) => n + 1) == 1
            ? FakeOpenAi.EchoN(call).After(TimeSpan.FromMinutes(5))
            : FakeOpenAi.EchoN(call);
        await ChatOffer.Install(Store, upstream, price: null);
        // A process stopped inside a transaction keeps its row locks until PostgreSQL ends its
        // session (or it resumes): recon could not requeue anything. Production should set this too (operations.md).
        using (var admin = new Npgsql.NpgsqlConnection(TestServices.PostgresAdmin))
        {
            admin.Open();
            SqlExtensions.Exec(admin, $"ALTER DATABASE {Store.DatabaseName} SET idle_in_transaction_session_timeout = '2s'");
        }
        var api = await Start("api");
        await Start("recon");
        var paused = await Start("executor", "--workers", "32");

        using var client = api.Client(Key);
        var ids = await ChatOffer.Submit(client, Requests);
        await upstream.WaitForCalls(Requests, TimeSpan.FromSeconds(20));
        var other = await Start("executor", "--workers", "32");

        await Signal(paused, "STOP");
        var pausedAt = DateTimeOffset.UtcNow;
        // Leases are 3 s: recon gives the jobs back and the other executor runs them all meanwhile.
        await Wait.Until(() => Count("succeeded") == Requests, TimeSpan.FromSeconds(20), "the other executor to finish every request");
        var resumedAt = DateTimeOffset.UtcNow;
        await Signal(paused, "CONT");
        // Its calls: the first of each prompt, all made before the other executor started.
        var held = upstream.Calls.GroupBy(c => Prompt().Match(c.Body).Value).Select(g => g.Min(c => c.Index)).ToList();
        Assert.Equal(Requests, held.Count);
        await Wait.Until(() => held.All(upstream.Ends.ContainsKey), TimeSpan.FromSeconds(5), "the paused executor's calls to end");

        // They were stopped, not answered; it started none after resuming; the other called each prompt once.
        Assert.All(held, i => Assert.False(upstream.Ends[i].Answered, $"call {i} of the paused executor was answered"));
        Assert.DoesNotContain(upstream.Calls, c => c.ReceivedAt >= resumedAt);
        Assert.All(
            upstream.Calls.Where(c => c.ReceivedAt >= pausedAt).GroupBy(c => Prompt().Match(c.Body).Value),
            g => Assert.True(g.Count() == 1, $"{g.Key} was called {g.Count()} times during the pause"));
        Assert.False(paused.HasExited);
        Assert.True(other.Logged("Claimed "));
        foreach (var id in ids)
        {
            Assert.Equal(1, Ledger.Count(Store, "charge", id));
            Assert.Equal(0, Ledger.Count(Store, "refund", id));
        }
        Assert.Equal(10_000 - Requests, Ledger.Balance(Store, UserId));
        Ledger.AssertAudited(Store);
    }
}
