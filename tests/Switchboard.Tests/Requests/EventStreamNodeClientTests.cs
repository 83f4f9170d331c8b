using System.Diagnostics;
using Switchboard.Tests.OpenApi;

namespace Switchboard.Tests.Requests;

/// <summary>
/// The npm <c>eventsource</c> client (tests/node-clients/follow-events.mjs, installed by
/// <c>npm ci</c> there; ./test.sh does it) follows a request's <c>stream_url</c> through a TCP
/// proxy that the test cuts after the first event: the client reconnects on its own with
/// <c>Last-Event-ID</c>, and what it printed holds every status, progress, result and end
/// event once, in order, ending with the request's final state.
/// </summary>
public sealed class EventStreamNodeClientTests : AppTests
{
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: sse, action: talk, handler: echo.render, price: 2, prompt_template: "Talk {n}", params: {delay_ms: 4000, progress_steps: 4, progress_message: working, stream_text: "alpha beta gamma delta"}}
        """);

    private static string ClientDir => Path.Combine(OpenApiClientTests.RepoRoot(), "tests", "node-clients");

    private SwitchboardProcess _serve = null!;
    private HttpClient _client = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite, catalog: Catalog);
        var alice = await app.AddUserAsync("alice", 100);
        _serve = await app.StartServeAsync("--workers", "2");
        _client = _serve.Client(alice.Key);
        return app;
    }

    [Fact]
    public async Task TheNpmClientResumesAfterADroppedConnectionWithoutLosingOrRepeatingAnEvent()
    {
        Assert.True(Directory.Exists(Path.Combine(ClientDir, "node_modules", "eventsource")),
            "tests/node-clients has no node_modules: run `npm ci` there (./test.sh does)");
        await using var proxy = new CuttableProxy(_serve.Address!);
        var response = await _client.PostAsJsonAsync("/svc/sse/talk/", new { n = 1 });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = accepted["id"]!.GetValue<string>();
        var url = new Uri(proxy.Address, accepted["stream_url"]!.GetValue<string>());

        var lines = new List<JsonObject>();
        var firstEvent = new TaskCompletionSource();
        var info = new ProcessStartInfo("node") { WorkingDirectory = ClientDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("follow-events.mjs");
        info.Environment["SB_STREAM_URL"] = url.ToString();
        info.Environment["SB_TIMEOUT_MS"] = "30000";
        using var node = Process.Start(info)!;
        var stderr = node.StandardError.ReadToEndAsync();
        var reading = Task.Run(async () =>
        {
            while (await node.StandardOutput.ReadLineAsync() is { } line)
            {
                var parsed = JsonNode.Parse(line)!.AsObject();
                lock (lines)
                {
                    lines.Add(parsed);
                }
                if (parsed["seen"]!.GetValue<string>() == "event")
                {
                    firstEvent.TrySetResult();
                }
            }
        });
        await firstEvent.Task.WaitAsync(TimeSpan.FromSeconds(20));
        // Mid-request: the connection drops under the client.
        Assert.NotEqual("succeeded", (await SwitchboardFactory.Get(_client, id))["status"]!.GetValue<string>());
        proxy.Cut();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        await node.WaitForExitAsync(timeout.Token);
        await reading;
        var output = string.Join('\n', lines.Select(l => l.ToJsonString())) + "\n" + await stderr;
        Assert.True(node.ExitCode == 0, output);

        // It connected twice, the second time saying what it had seen.
        Assert.True(lines.Count(l => l["seen"]!.GetValue<string>() == "open") >= 2, output);
        var heads = proxy.RequestHeads.ToList();
        Assert.True(heads.Count >= 2, output);
        Assert.Contains("last-event-id:", heads[1], StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("last-event-id:", heads[0], StringComparison.OrdinalIgnoreCase);

        var events = lines.Where(l => l["seen"]!.GetValue<string>() == "event" && l["type"]!.GetValue<string>() != "partial")
            .Select(l => (Type: l["type"]!.GetValue<string>(), Id: l["id"]!.GetValue<string>(), Data: l["data"]!.GetValue<string>())).ToList();
        // Nothing twice: every id once, every status once.
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
        var statuses = events.Where(e => e.Type == "status").Select(e => JsonNode.Parse(e.Data)!["status"]!.GetValue<string>()).ToList();
        Assert.Equal(statuses.Distinct(), statuses);
        // In order, ending with the final state: statuses by rank, progress rising, then result and end.
        string[] rank = ["queued", "running", "succeeded"];
        Assert.Equal(statuses.OrderBy(s => Array.IndexOf(rank, s)), statuses);
        Assert.Equal("succeeded", statuses[^1]);
        Assert.Equal(["result", "end"], events.TakeLast(2).Select(e => e.Type));
        var got = await SwitchboardFactory.Get(_client, id);
        Assert.Equal(got["results"]!.ToJsonString(), events[^2].Data);
        Assert.Equal("succeeded", events[^1].Data);
        var fractions = events.Where(e => e.Type == "progress").Select(e => JsonNode.Parse(e.Data)!.ToJsonString()).ToList();
        Assert.Equal(fractions.Distinct(), fractions);
    }
}
