namespace Switchboard.Tests.Upgrades;

/// <summary>
/// The embedded deployment (SQLite, the in-process queue) after a rollback: a request row a newer
/// build wrote (format 2) is dispatched by recon once, left un-acked by the claim (held, so recon
/// does not send it again), never failed, and said in the log; a row of today's format beside it
/// runs. The upgrade is a restart: a process that reads the row (here: the row set back to format
/// 1) finds it queued and runs it. A real <c>serve</c> process on a store written directly.
/// </summary>
public sealed class EmbeddedServeLeavesNewerRowsTests : AppTests
{
    private const string Catalog = """
        handlers:
          - {id: echo.render, credits: 1}
        offers:
          - {service: work, action: echo, handler: echo.render, price: 0, prompt_template: "Echo {n}"}
        """;

    private static readonly Dictionary<string, string> Fast = new()
    {
        ["Switchboard__LeaseSeconds"] = "3",
        ["Switchboard__ReconInterval"] = "00:00:00.500",
    };

    private readonly string _metricsUrl = $"http://127.0.0.1:{SwitchboardProcess.FreePort()}";
    private string _user = "";

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite, catalog: Catalog);
        _user = (await app.AddUserAsync("alice", 10)).Id;
        return app;
    }

    private Task<SwitchboardProcess> Serve() =>
        App.StartRoleAsync("serve", ["--metrics-urls", _metricsUrl], Fast);

    private string Status(string id) => App.Query(c => c.Scalar<string>("SELECT status FROM requests WHERE id = @id", ("@id", id)))!;

    private async Task<double> Metric(string series)
    {
        using var scraper = new HttpClient();
        var line = (await scraper.GetStringAsync(_metricsUrl + "/metrics")).Split('\n').SingleOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static int Lines(SwitchboardProcess process, string text) =>
        process.Logs.Count(e => e["Message"]?.GetValue<string>().Contains(text, StringComparison.Ordinal) == true);

    [Fact]
    public async Task ARowOfANewerFormatIsLeftQueuedUntilAProcessThatReadsItStarts()
    {
        var (newer, today) = ($"req_{Guid.NewGuid():N}", $"req_{Guid.NewGuid():N}");
        var at = Clock.NowMs() - 60_000;
        App.Store.Query(c =>
        {
            FreeRequests.Insert(c, newer, _user, "offer", "work", "echo", "queued", at);
            FreeRequests.Insert(c, today, _user, "offer", "work", "echo", "queued", at);
            return c.Execute("UPDATE requests SET format = 2 WHERE id = @id", ("@id", newer));
        });

        var serve = await Serve();

        await Wait.Until(() => Status(today) == "succeeded", TimeSpan.FromSeconds(20), () => $"today's row to run ({Status(today)})");
        await Wait.Until(() => serve.Logged($"Left request {newer} run 1 of format 2 for a newer build"), TimeSpan.FromSeconds(20), () => "the claim to say what it left");
        // Several recon passes (0.5 s) and leases (3 s) later: dispatched once, left once (its
        // message is held), not failed, not attempted.
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Equal("queued", Status(newer));
        Assert.Equal(0, App.Query(c => c.Scalar<long>("SELECT attempts FROM requests WHERE id = @id", ("@id", newer))));
        Assert.Equal(1, Lines(serve, $"Recon dispatched request {newer}"));
        Assert.Equal(1, await Metric("switchboard_unreadable_total{kind=\"request\",format=\"2\"}"));

        // The upgrade: the process stops, and one that reads the row starts on the same folder.
        await serve.Terminate(TimeSpan.FromSeconds(20));
        App.Store.Query(c => c.Execute("UPDATE requests SET format = 1 WHERE id = @id", ("@id", newer)));
        var upgraded = await Serve();

        await Wait.Until(() => Status(newer) == "succeeded", TimeSpan.FromSeconds(20), () => $"the row to run after the upgrade ({Status(newer)})");
        Assert.Equal(1, Lines(upgraded, $"Recon dispatched request {newer}"));
        Assert.False(upgraded.Logged("Left request"));
    }
}
