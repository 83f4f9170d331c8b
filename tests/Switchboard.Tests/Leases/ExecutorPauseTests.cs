using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
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
public sealed partial class ExecutorPauseTests() : ProcessTestBase(Catalog)
{
    private const string Catalog = """
        handlers:
          - {id: openai.chat, credits: 1}
        offers:
          - {service: chat, action: ask, handler: openai.chat, price: 1, prompt_template: "Q {n}", params: {model: m}}
        """;

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

    private static async Task WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task AnExecutorPausedPastItsLeaseStopsItsCallsOnResumeAndStartsNone()
    {
        await using var upstream = await FakeOpenAi.StartAsync();
        // A prompt's first call (the paused executor's) is held past the test; a second one is answered at once.
        var seen = new ConcurrentDictionary<string, int>();
        upstream.Fallback = call => seen.AddOrUpdate(Prompt().Match(call.Body).Value, 1, (_, n) => n + 1) == 1
            ? FakeOpenAi.EchoN(call).After(TimeSpan.FromMinutes(5))
            : FakeOpenAi.EchoN(call);
        await Infrastructure.Cli.PushOpenAiEndpoint(Store, upstream.BaseUrl);
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
        var ids = new List<string>();
        for (var i = 0; i < Requests; i++)
        {
            var response = await client.PostAsJsonAsync("/svc/chat/ask/", new { n = i });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids.Add(await SwitchboardFactory.IdOf(response));
        }
        await upstream.WaitForCalls(Requests, TimeSpan.FromSeconds(20));
        var other = await Start("executor", "--workers", "32");

        await Signal(paused, "STOP");
        var pausedAt = DateTimeOffset.UtcNow;
        // Leases are 3 s: recon gives the jobs back and the other executor runs them all meanwhile.
        await WaitUntil(() => Count("succeeded") == Requests, TimeSpan.FromSeconds(20), "the other executor to finish every request");
        var resumedAt = DateTimeOffset.UtcNow;
        await Signal(paused, "CONT");
        await WaitUntil(() => Enumerable.Range(1, Requests).All(upstream.Ends.ContainsKey), TimeSpan.FromSeconds(5), "the paused executor's calls to end");

        // Its calls (the first of each prompt: all made before the other executor started) were
        // stopped, not answered; it started none after resuming; the other called each prompt once.
        Assert.All(Enumerable.Range(1, Requests), i => Assert.False(upstream.Ends[i].Answered, $"call {i} of the paused executor was answered"));
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
