namespace Switchboard.Tests.Requests;

/// <summary>
/// A browser follows a request: Debian's chromium, on a page of the server's origin, opens
/// <c>new EventSource(stream_url)</c> with no key (a browser cannot send one on an
/// EventSource) and sees the request's status, its progress while it runs, the result and the end;
/// and a page of another origin (a customer's site) does the same, which the stream's CORS policy allows.
/// </summary>
public sealed class EventStreamBrowserTests(Chromium chromium) : AppTests, IClassFixture<Chromium>
{
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: sse, action: talk, handler: echo.render, price: 2, prompt_template: "Talk {n}", params: {delay_ms: 1500, progress_steps: 3, progress_message: drawing}}
        """);

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

    /// <summary>Opens the stream in the page and resolves with every event once <c>end</c> came (or rejects on an error before it).</summary>
    private const string Follow = """
        (url) => new Promise((resolve, reject) => {
          const seen = [];
          const source = new EventSource(url);
          for (const type of ['status', 'progress', 'partial', 'result', 'end']) {
            source.addEventListener(type, (e) => {
              seen.push({ type, id: e.lastEventId, data: e.data });
              if (type === 'end') { source.close(); resolve(seen); }
            });
          }
          source.onerror = () => { if (source.readyState === EventSource.CLOSED) reject(new Error('closed: ' + JSON.stringify(seen))); };
          setTimeout(() => { source.close(); reject(new Error('timed out: ' + JSON.stringify(seen))); }, 25000);
        })
        """;

    [Fact]
    public async Task AnEventSourceOnTheStreamUrlSeesStatusProgressAndTheResult()
    {
        var page = await chromium.NewPage(_serve.Address!);
        await Chromium.Scenario(page, "event-stream", async () =>
        {
            // A page of the server's own origin: the stream_url is a path on it.
            await page.GotoAsync("/docs/problems");
            var response = await _client.PostAsJsonAsync("/svc/sse/talk/", new { n = 1 });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var accepted = (await response.Content.ReadFromJsonAsync<JsonObject>())!;

            var seen = (await page.EvaluateAsync<System.Text.Json.JsonElement>(Follow, accepted["stream_url"]!.GetValue<string>())).EnumerateArray()
                .Select(e => (Type: e.GetProperty("type").GetString()!, Data: e.GetProperty("data").GetString()!)).ToList();

            var got = await SwitchboardFactory.Get(_client, accepted["id"]!.GetValue<string>());
            Assert.Equal("status", seen[0].Type);
            var statuses = seen.Where(e => e.Type == "status").Select(e => JsonNode.Parse(e.Data)!["status"]!.GetValue<string>()).ToList();
            Assert.Equal("succeeded", statuses[^1]);
            Assert.Equal(["result", "end"], seen.TakeLast(2).Select(e => e.Type));
            Assert.Equal(got["results"]!.ToJsonString(), seen[^2].Data);
            Assert.Equal(["Talk 1 #1"], got["results"]!.AsArray().Select(r => r!.GetValue<string>()));
            // Progress needs the handler host to store and publish it (the change feed's part of issue 19).
            Assert.Contains(seen, e => e.Type == "progress" && e.Data.Contains("drawing", StringComparison.Ordinal));
        });
    }

    [Fact]
    public async Task APageOfAnotherOriginFollowsTheStreamUrlToo()
    {
        var page = await chromium.NewPage(_serve.Address!);
        await Chromium.Scenario(page, "event-stream-cross-origin", async () =>
        {
            // A customer's page: http://localhost:port is another origin than the stream's http://127.0.0.1:port.
            // A document without a Content-Security-Policy (the /docs pages allow only their own origin), and
            // served from a loopback address (a page the browser made up would count as a public site, which
            // Chromium does not let reach loopback).
            await page.GotoAsync($"http://localhost:{_serve.Address!.Port}/healthz");
            var response = await _client.PostAsJsonAsync("/svc/sse/talk/", new { n = 2 });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var accepted = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            var url = new Uri(_serve.Address!, accepted["stream_url"]!.GetValue<string>()).AbsoluteUri;

            var seen = (await page.EvaluateAsync<System.Text.Json.JsonElement>(Follow, url)).EnumerateArray()
                .Select(e => e.GetProperty("type").GetString()!).ToList();

            Assert.Equal("status", seen[0]);
            Assert.Equal(["result", "end"], seen.TakeLast(2));
        });
        // The preflight a reconnecting EventSource may need (it sends Last-Event-ID), answered for any origin.
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/svc/request/0123456789abcdef0123456789abcdef/events");
        preflight.Headers.Add("Origin", "https://shop.example");
        preflight.Headers.Add("Access-Control-Request-Method", "GET");
        preflight.Headers.Add("Access-Control-Request-Headers", "last-event-id");
        using var anonymous = new HttpClient { BaseAddress = _serve.Address };
        var answer = await anonymous.SendAsync(preflight);
        Assert.True(answer.IsSuccessStatusCode, answer.StatusCode.ToString());
        Assert.Equal("*", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        // Other routes stay same-origin.
        using var other = new HttpRequestMessage(HttpMethod.Get, "/svc/");
        other.Headers.Add("Origin", "https://shop.example");
        Assert.False((await anonymous.SendAsync(other)).Headers.Contains("Access-Control-Allow-Origin"));
    }
}
