namespace Switchboard.Tests.Distributed;

/// <summary>
/// Two executor groups on Redis (<c>--handlers echo.*</c> and <c>--handlers openai.*</c>), as OS
/// processes on PostgreSQL: each runs only its handlers' jobs; when the only executor of one
/// group dies, its jobs wait (<c>waiting_for: "executor"</c>) and raise
/// <c>no_executor_for_handler</c> while the other group finishes its own; one started again
/// finishes them, each charged once.
/// </summary>
public sealed class ExecutorGroupsTests() : ProcessTestBase(Catalog)
{
    private static readonly string Catalog = """
        handlers:
          - {id: echo.render, credits: 1}
          - {id: openai.chat, credits: 1}
        offers:
          - {service: work, action: echo, handler: echo.render, price: 1, prompt_template: "Echo {n}", params: {delay_ms: 20}}
          - {service: work, action: chat, handler: openai.chat, price: 1, prompt_template: "Chat {n}", params: {model: m}}
        """;

    private const int Requests = 1000;

    private FakeOpenAi? _upstream;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_upstream is not null)
        {
            await _upstream.DisposeAsync();
        }
    }

    private long Count(string status, string handler) =>
        Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE status = @s AND handler = @h", ("@s", status), ("@h", handler)));

    private string Statuses() =>
        $"echo.render: succeeded {Count("succeeded", "echo.render")}, queued {Count("queued", "echo.render")}; "
        + $"openai.chat: succeeded {Count("succeeded", "openai.chat")}, queued {Count("queued", "openai.chat")}, running {Count("running", "openai.chat")}";

    /// <summary>The handlers of the jobs this executor logged a claim of.</summary>
    private static HashSet<string> ClaimedHandlers(SwitchboardProcess executor) =>
        [.. executor.Logs
            .Where(e => e["Message"]?.GetValue<string>().StartsWith("Claimed ", StringComparison.Ordinal) == true)
            .Select(e => e["State"]?["Handler"]?.GetValue<string>() ?? "?")];

    [Fact]
    public async Task EachGroupRunsItsOwnJobsAndAGroupWithoutExecutorsWaitsAlertsAndResumesWithoutDoubleCharges()
    {
        _upstream = await FakeOpenAi.StartAsync();
        _upstream.Fallback = call => FakeOpenAi.EchoN(call).After(TimeSpan.FromMilliseconds(20));
        await Infrastructure.Cli.PushOpenAiEndpoint(Store, _upstream.BaseUrl);
        await App.PushConfigAsync("recon", "alerts: {no_executor_s: 1}\n");
        var api = await Start("api");
        var recon = await Start("recon");
        var echo = await Start("executor", "--workers", "16", "--handlers", "echo.*");
        var chat = await Start("executor", "--workers", "16", "--handlers", "openai.*");

        using var client = api.Client(Key);
        var ids = new string[Requests];
        await Parallel.ForAsync(0, Requests, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var response = await client.PostAsJsonAsync(i % 2 == 0 ? "/svc/work/echo/" : "/svc/work/chat/", new { n = i });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids[i] = await SwitchboardFactory.IdOf(response);
        });
        await Wait.Until(() => Count("succeeded", "openai.chat") >= 50, TimeSpan.FromSeconds(60), Statuses);

        await chat.Kill();
        var chatsLeft = Requests / 2 - Count("succeeded", "openai.chat");
        Assert.True(chatsLeft > 0, "the kill should have left chat jobs: " + Statuses());

        // The other group keeps going on its own: every echo job finishes while no chat executor lives.
        await Wait.Until(() => Count("succeeded", "echo.render") == Requests / 2, TimeSpan.FromSeconds(90), Statuses);
        // The chat jobs wait, saying for what, once the dead executor's heartbeat has expired.
        var waiting = ids.Where((_, i) => i % 2 == 1).First(id => Store.Query(c => c.Scalar<string>("SELECT status FROM requests WHERE id = @id", ("@id", id))) == "queued");
        await Wait.ForValue(async () => (await SwitchboardFactory.Get(client, waiting))["waiting_for"]?.GetValue<string>(), "executor", TimeSpan.FromSeconds(40), "a chat job to wait for an executor");
        await Wait.Until(() => recon.Logged("Alert no_executor_for_handler firing for openai.chat"), TimeSpan.FromSeconds(20), () => "the alert to fire; " + Statuses());
        Assert.True(Count("succeeded", "openai.chat") < Requests / 2, "chat jobs should still wait: " + Statuses());

        var again = await Start("executor", "--workers", "16", "--handlers", "openai.chat");
        await Wait.Until(() => Count("succeeded", "openai.chat") == Requests / 2, TimeSpan.FromSeconds(90), Statuses);
        Assert.Null((await SwitchboardFactory.Get(client, waiting))["waiting_for"]);

        // Each executor logged claims of its own group's handlers only.
        Assert.Equal(["echo.render"], ClaimedHandlers(echo));
        Assert.Equal(["openai.chat"], ClaimedHandlers(chat));
        Assert.Equal(["openai.chat"], ClaimedHandlers(again));
        // Every request charged once, none refunded; the books balance (and the audit at dispose).
        Assert.Equal(Requests, Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM ledger WHERE kind = 'charge'")));
        Assert.Equal(0, Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM ledger WHERE kind = 'refund'")));
        Assert.Equal(10_000 - Requests, Ledger.Balance(Store, UserId));
        Ledger.AssertBalanced(Store);
    }
}
