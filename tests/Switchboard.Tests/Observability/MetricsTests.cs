using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Switchboard.Tests.Observability;

/// <summary>
/// prometheus-net's metrics are process-wide: tests that count them run alone, after the
/// others, and read deltas where another test could have touched the same labels.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMetricsCollection
{
    public const string Name = "Process-wide metrics";
}

/// <summary>
/// What each role exports at <c>/metrics</c>: submissions by catalog target and outcome, the
/// executor's attempts, durations and retries, HTTP requests by route pattern; no request id in
/// any label; <c>--metrics-urls</c> on a real executor process. The main URL serves
/// <c>/metrics</c> only with the operator's bearer token, so these tests set one and scrape
/// with it (see Security.MetricsExposureTests for what happens without it).
/// </summary>
[Collection(ProcessMetricsCollection.Name)]
public sealed partial class MetricsTests : IAsyncLifetime
{
    // A service name no other test uses: its submissions counters start at zero.
    private readonly string _service = "m" + Guid.NewGuid().ToString("N")[..10];
    private readonly List<SwitchboardProcess> _processes = [];
    private TestApp? _app;

    private const string Token = "metrics-token-for-the-tests";

    private static Dictionary<string, string?> WithToken() => new() { [Switchboard.Observability.MetricsHosting.BearerTokenKey] = Token };

    /// <summary>A client of the main URL that sends the metrics token.</summary>
    private static HttpClient Scraper(SwitchboardFactory app)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        return client;
    }

    private string CatalogYaml => TestCatalogs.OnEchoRender($$$"""
        offers:
          - {service: {{{_service}}}, action: ok, handler: echo.render, price: 1, prompt_template: "Hello {name}"}
          - {service: {{{_service}}}, action: bad, handler: echo.render, price: 1, prompt_template: "Fail {name}", params: {fail: true}}
          - {service: {{{_service}}}, action: flaky, handler: echo.render, price: 1, prompt_template: "Flaky {name}", params: {fail_times: 1}}
        deals:
          - name: {{{_service}}}-deal
            offers:
              - {offer: {{{_service}}}/ok, pipeline: none}
        """);

    public Task InitializeAsync() => Task.CompletedTask;

    private TestStore Store => _app!.Store;

    /// <summary>This test's in-memory serve, with <paramref name="settings"/>.</summary>
    private SwitchboardFactory Serve(Dictionary<string, string?> settings)
    {
        foreach (var (key, value) in settings)
        {
            _app!.Settings[key] = value;
        }
        return _app!.Server;
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    [Fact]
    public async Task MetricsCountSubmissionsAttemptsAndHttpRequestsByRoutePattern()
    {
        _app = await TestApp.StartAsync(StoreKind.Sqlite, catalog: CatalogYaml);
        var (_, key) = await Infrastructure.Cli.CreateUser(Store, "alice", 100);
        var app = Serve(WithToken());
        using var client = app.ClientFor(key);
        using var scraper = Scraper(app);
        var before = Exposition.Parse(await scraper.GetStringAsync("/metrics"));

        var ok = await Submit(client, "ok", "once");
        Assert.Equal(HttpStatusCode.Accepted, ok.StatusCode);
        var again = await Submit(client, "ok", "once");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var bad = await Submit(client, "bad", null);
        var flaky = await Submit(client, "flaky", null);
        Assert.Equal(HttpStatusCode.NotFound, (await Submit(client, "nope", null)).StatusCode);
        // A name a client makes up, even without a key, is never a label value (the "action" route value).
        var madeUp = "x" + Guid.NewGuid().ToString("N");
        using (var anonymous = app.CreateClient())
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync($"/svc/{_service}/{madeUp}/", new { })).StatusCode);
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync($"/svc/{_service}/ok/", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync("/svc/deal/no-such-deal/", new { })).StatusCode);
        var timeout = TimeSpan.FromSeconds(20);
        await SwitchboardFactory.WaitFor(client, await SwitchboardFactory.IdOf(ok), timeout, "succeeded");
        await SwitchboardFactory.WaitFor(client, await SwitchboardFactory.IdOf(bad), timeout, "failed");
        await SwitchboardFactory.WaitFor(client, await SwitchboardFactory.IdOf(flaky), timeout, "succeeded");

        var text = await Settled(scraper, "/metrics");
        var after = Exposition.Parse(text);
        string Target(string action) => $"{_service}/{action}";
        Assert.Equal(1, after.Sum("switchboard_submissions_total", ("kind", "offer"), ("target", Target("ok")), ("outcome", "accepted"), ("code", "")));
        Assert.Equal(1, after.Sum("switchboard_submissions_total", ("kind", "offer"), ("target", Target("ok")), ("outcome", "duplicate"), ("code", "")));
        Assert.Equal(1, after.Sum("switchboard_submissions_total", ("kind", "offer"), ("target", Target("ok")), ("outcome", "rejected"), ("code", "invalid_inputs")));
        Assert.Equal(1, after.Sum("switchboard_submissions_total", ("kind", "offer"), ("target", Target("bad")), ("outcome", "accepted")));
        Assert.Equal(1, after.Sum("switchboard_submissions_total", ("kind", "offer"), ("target", Target("flaky")), ("outcome", "accepted")));
        // Names not in the catalog are never labels: they count as "unknown".
        Assert.DoesNotContain(Target("nope"), text);
        Assert.DoesNotContain(madeUp, text);
        Assert.DoesNotContain("action=\"ok\"", text);
        Assert.DoesNotContain("no-such-deal", text);
        Assert.Equal(1, Delta(before, after, "switchboard_submissions_total", ("kind", "offer"), ("target", "unknown"), ("outcome", "rejected"), ("code", "unknown_action")));
        Assert.Equal(1, Delta(before, after, "switchboard_submissions_total", ("kind", "deal"), ("target", "unknown"), ("outcome", "rejected"), ("code", "unknown_deal")));

        // ok and flaky's second attempt succeeded, flaky's first was retried, bad failed.
        Assert.Equal(2, Delta(before, after, "switchboard_requests_processed_total", ("handler", "echo.render"), ("outcome", "succeeded")));
        Assert.Equal(1, Delta(before, after, "switchboard_requests_processed_total", ("handler", "echo.render"), ("outcome", "retried")));
        Assert.Equal(1, Delta(before, after, "switchboard_requests_processed_total", ("handler", "echo.render"), ("outcome", "failed")));
        Assert.Equal(1, Delta(before, after, "switchboard_retries_total", ("handler", "echo.render")));
        Assert.Equal(4, Delta(before, after, "switchboard_job_duration_seconds_count", ("handler", "echo.render")));
        // The queue wait counts each request's first claim only (flaky's retry is not a submit's wait).
        Assert.Equal(3, Delta(before, after, "switchboard_queue_wait_seconds_count", ("handler", "echo.render")));
        Assert.InRange(Delta(before, after, "switchboard_queue_wait_seconds_sum", ("handler", "echo.render")), 0, 20);
        await Wait.For(async () => Exposition.Parse(await scraper.GetStringAsync("/metrics")).Sum("switchboard_recon_pass_seconds_count"),
            passes => passes > before.Sum("switchboard_recon_pass_seconds_count"), TimeSpan.FromSeconds(15), "a recon pass to be timed", TimeSpan.FromMilliseconds(100));
        Assert.Equal(0, after.Sum("switchboard_jobs_in_flight"));

        // HTTP requests by route pattern and status; the request ids in the paths are nowhere.
        Assert.Equal(3, Delta(before, after, "http_requests_received_total", ("code", "202"), ("method", "POST"), ("endpoint", "/svc/{service}/{action}/")));
        Assert.True(after.Sum("http_requests_received_total", ("code", "200"), ("method", "GET"), ("endpoint", "/svc/request/{id}/")) >= 3);
        Assert.False(RequestIdLike().IsMatch(text), "a 32-hex string (a request id?) appears in /metrics: " + string.Join(" | ", text.Split('\n').Where(l => RequestIdLike().IsMatch(l))));
        // Usage: a credit per attempt (echo.render costs 1), the price of each success earned.
        Assert.Equal(4, Delta(before, after, "switchboard_integration_credits_total", ("resource", ""), ("handler", "echo.render")));
        Assert.Equal(2, Delta(before, after, "switchboard_user_credits_earned_total", ("resource", ""), ("handler", "echo.render")));
        // The usage meter is not exported a second time under the meter adapter's names.
        Assert.DoesNotContain("switchboard_usage_", text);
        Assert.Contains("system_runtime_dotnet_gc_collections", text);
    }

    [Fact]
    public async Task DealSubmissionsCountByTheDealsName()
    {
        _app = await TestApp.StartAsync(StoreKind.Sqlite, catalog: CatalogYaml);
        var (_, key) = await Infrastructure.Cli.CreateUser(Store, "alice", 100);
        var app = Serve(WithToken());
        using var client = app.ClientFor(key);
        var deal = $"/svc/deal/{_service}-deal/";

        Task<HttpResponseMessage> Post(object body)
        {
            var message = new HttpRequestMessage(HttpMethod.Post, deal) { Content = JsonContent.Create(body) };
            message.Headers.Add("Idempotency-Key", "deal-once");
            return client.SendAsync(message);
        }
        var accepted = await Post(new { inputs = new { name = "x" } });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Post(new { inputs = new { name = "x" } })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(new { inputs = new { } })).StatusCode);
        await SwitchboardFactory.WaitFor(client, await SwitchboardFactory.IdOf(accepted), TimeSpan.FromSeconds(20), "succeeded");

        using var scraper = Scraper(app);
        var metrics = Exposition.Parse(await Settled(scraper, "/metrics"));
        var target = $"{_service}-deal";
        Assert.Equal(1, metrics.Sum("switchboard_submissions_total", ("kind", "deal"), ("target", target), ("outcome", "accepted"), ("code", "")));
        Assert.Equal(1, metrics.Sum("switchboard_submissions_total", ("kind", "deal"), ("target", target), ("outcome", "duplicate"), ("code", "")));
        Assert.Equal(1, metrics.Sum("switchboard_submissions_total", ("kind", "deal"), ("target", target), ("outcome", "rejected"), ("code", "invalid_inputs")));
    }

    [Fact]
    public async Task AnExecutorProcessServesItsMetricsOnMetricsUrls()
    {
        _app = await TestApp.StartAsync(StoreKind.Postgres, catalog: CatalogYaml, redis: true);
        var (_, key) = await Infrastructure.Cli.CreateUser(Store, "alice", 100);
        var metricsUrl = $"http://127.0.0.1:{SwitchboardProcess.FreePort()}";
        var executor = await Start("executor", "--metrics-urls", metricsUrl);
        var api = await Start("api", $"--{Switchboard.Observability.MetricsHosting.BearerTokenKey}={Token}");
        using var client = api.Client(key);

        var response = await Submit(client, "ok", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await SwitchboardFactory.WaitFor(client, await SwitchboardFactory.IdOf(response), TimeSpan.FromSeconds(20), "succeeded");

        using var scraper = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var executorMetrics = Exposition.Parse(await Settled(scraper, metricsUrl + "/metrics"));
        Assert.Equal(1, executorMetrics.Sum("switchboard_requests_processed_total", ("handler", "echo.render"), ("outcome", "succeeded")));
        Assert.Equal(1, executorMetrics.Sum("switchboard_job_duration_seconds_count", ("handler", "echo.render")));
        Assert.Equal(0, executorMetrics.Sum("switchboard_jobs_in_flight"));
        // The listener serves /metrics and nothing else.
        Assert.Equal(HttpStatusCode.NotFound, (await scraper.GetAsync(metricsUrl + "/svc/")).StatusCode);
        // The api process counts its own side on its main URL.
        using var apiScraper = api.Client(Token);
        var apiMetrics = Exposition.Parse(await apiScraper.GetStringAsync("/metrics"));
        Assert.Equal(1, apiMetrics.Sum("switchboard_submissions_total", ("kind", "offer"), ("target", $"{_service}/ok"), ("outcome", "accepted")));
        Assert.Equal(0, apiMetrics.Sum("switchboard_requests_processed_total"));
        Assert.True(executor.Logged("Metrics on"), "the executor logs where its metrics are");
    }

    [Fact]
    public async Task AParkedJobsWaitForItsResourceCountsInResourceWait()
    {
        var resource = "r" + Guid.NewGuid().ToString("N")[..10];
        _app = await TestApp.StartAsync(StoreKind.Sqlite);
        await _app.ApplyCatalogAsync($$$"""
            handlers:
              - {id: echo.render, credits: 1, resource: {{{resource}}}}
            offers:
              - {service: {{{_service}}}, action: slow, handler: echo.render, price: 1, prompt_template: "Slowly {name}", params: {delay_ms: 800}}
              - {service: {{{_service}}}, action: ok, handler: echo.render, price: 1, prompt_template: "Hello {name}"}
            """);
        await _app.PushConfigAsync("resource_map", $"resource_map:\n  {resource}: {{max_concurrent: 1}}\n");
        var (_, key) = await Infrastructure.Cli.CreateUser(Store, "alice", 100);
        var app = Serve(WithToken());
        using var client = app.ClientFor(key);
        using var scraper = Scraper(app);
        var before = Exposition.Parse(await scraper.GetStringAsync("/metrics"));

        var slow = await SwitchboardFactory.IdOf(await Submit(client, "slow", null));
        await SwitchboardFactory.WaitFor(client, slow, TimeSpan.FromSeconds(10), "running");
        var waiting = await SwitchboardFactory.IdOf(await Submit(client, "ok", null));
        await SwitchboardFactory.WaitFor(client, waiting, TimeSpan.FromSeconds(20), "succeeded");

        var after = Exposition.Parse(await Settled(scraper, "/metrics"));
        Assert.Equal(2, after.Sum("switchboard_resource_wait_seconds_count", ("resource", resource)));
        // The second job waited, parked, for most of the first one's 800 ms.
        Assert.InRange(after.Sum("switchboard_resource_wait_seconds_sum", ("resource", resource)), 0.3, 10);
        // Parking gave its first claim back.
        Assert.True(Delta(before, after, "switchboard_requests_processed_total", ("handler", "echo.render"), ("outcome", "released")) >= 1);
    }

    [Fact]
    public async Task WithMetricsUrlsServeAnswersMetricsOnlyThere()
    {
        _app = await TestApp.StartAsync(StoreKind.Sqlite);
        var metricsUrl = $"http://127.0.0.1:{SwitchboardProcess.FreePort()}";
        var app = Serve(new() { ["Switchboard:MetricsUrls"] = metricsUrl });
        using var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/metrics")).StatusCode);
        using var scraper = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Contains("switchboard_jobs_in_flight", await scraper.GetStringAsync(metricsUrl + "/metrics"));
    }

    [Theory]
    [InlineData("127.0.0.1:9101", "is not a listen URL")]
    [InlineData("https://127.0.0.1:9101", "is not a listen URL")]
    [InlineData("http://127.0.0.1", "is not a listen URL")]
    [InlineData("in-use", "cannot listen on")]
    public async Task ABadMetricsUrlFailsTheStartWithOneClearLine(string url, string expected)
    {
        _app = await TestApp.StartAsync(StoreKind.Sqlite);
        using var busy = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        if (url == "in-use")
        {
            url = $"http://127.0.0.1:{((IPEndPoint)busy.LocalEndpoint).Port}";
        }
        var (exit, _, error) = await Infrastructure.Cli.RunProcess(
            TimeSpan.FromSeconds(30), "serve", "--data", Store.Path, "--urls", $"http://127.0.0.1:{SwitchboardProcess.FreePort()}", "--metrics-urls", url);
        Assert.NotEqual(0, exit);
        Assert.Contains("--metrics-urls", error);
        Assert.Contains(expected, error);
        Assert.DoesNotContain("   at ", error);
    }

    private async Task<SwitchboardProcess> Start(string role, params string[] args)
    {
        var process = await SwitchboardProcess.StartRole(Store, role, args);
        _processes.Add(process);
        return process;
    }

    private Task<HttpResponseMessage> Submit(HttpClient client, string action, string? idempotencyKey)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, $"/svc/{_service}/{action}/") { Content = JsonContent.Create(new { name = "bob" }) };
        if (idempotencyKey is not null)
        {
            message.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        return client.SendAsync(message);
    }

    /// <summary>
    /// /metrics once no job is in flight: the store says a request is done a moment before
    /// its worker has counted the attempt and left.
    /// </summary>
    private static async Task<string> Settled(HttpClient client, string url)
    {
        try
        {
            return await Wait.For(() => client.GetStringAsync(url), text => Exposition.Parse(text).Sum("switchboard_jobs_in_flight") == 0,
                TimeSpan.FromSeconds(10), "no job in flight");
        }
        catch (TimeoutException)
        {
            // Still busy: the caller's assertions say what is wrong with what is there.
            return await client.GetStringAsync(url);
        }
    }

    private static double Delta(Exposition before, Exposition after, string name, params (string Label, string Value)[] labels) =>
        after.Sum(name, labels) - before.Sum(name, labels);

    [GeneratedRegex("[0-9a-f]{32}")]
    private static partial Regex RequestIdLike();

    [Fact]
    public async Task ReconsGaugesShowResourcesExecutorsAndTheStore()
    {
        // A resource name no other test uses: its gauges are this test's alone. A 30-day period, so
        // that no period boundary (which zeroes the credits used) falls within the test.
        var resource = "r" + Guid.NewGuid().ToString("N")[..10];
        _app = await TestApp.StartAsync(StoreKind.Sqlite);
        await _app.ApplyCatalogAsync($$$"""
            handlers:
              - {id: echo.render, credits: 5, resource: {{{resource}}}}
            offers:
              - {service: {{{_service}}}, action: slow, handler: echo.render, price: 1, prompt_template: "Slow {n}", params: {delay_ms: 3000}}
            """);
        await _app.PushConfigAsync("resource_map", $$"""
            resource_map:
              {{resource}}: {max_concurrent: 1, credits: 100, period: 30d}
            """);
        var (_, key) = await Infrastructure.Cli.CreateUser(Store, "alice", 100);
        var app = Serve(WithToken());
        using var client = app.ClientFor(key);
        using var scraper = Scraper(app);

        for (var n = 0; n < 3; n++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsJsonAsync($"/svc/{_service}/slow/", new { n })).StatusCode);
        }

        // One job holds the only slot, two wait in its lane; recon's health pass publishes it. The slot is
        // taken before the credits are reserved, so a scrape between the two sees no credits yet.
        var metrics = await Wait.For(async () => Exposition.Parse(await scraper.GetStringAsync("/metrics")),
            m => m.Sum("switchboard_resource_slots_in_use", ("resource", resource)) == 1 && m.Sum("switchboard_resource_jobs_waiting", ("resource", resource)) == 2
                && m.Sum("switchboard_resource_credits_used", ("resource", resource)) > 0,
            TimeSpan.FromSeconds(15), "one slot in use, two jobs waiting and credits reserved", TimeSpan.FromMilliseconds(100));
        Assert.Equal(1, metrics.Sum("switchboard_resource_slots_in_use", ("resource", resource)));
        Assert.Equal(2, metrics.Sum("switchboard_resource_jobs_waiting", ("resource", resource)));
        // The running job's 5 integration credits are reserved from the period's 100.
        Assert.Equal(5, metrics.Sum("switchboard_resource_credits_used", ("resource", resource)));
        Assert.Equal(0.05, metrics.Sum("switchboard_resource_budget_used_ratio", ("resource", resource)), 3);
        Assert.True(metrics.Sum("switchboard_executors_live") >= 1);
        // The embedded executor serves every handler: its group is "*".
        Assert.True(metrics.Sum("switchboard_executor_group_executors", ("group", "*")) >= 1);
        Assert.Equal(1, metrics.Sum("switchboard_dependency_up", ("dependency", "store")));
    }

    /// <summary>The samples of a Prometheus text exposition.</summary>
    private sealed partial class Exposition
    {
        private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];

        public static Exposition Parse(string text)
        {
            var exposition = new Exposition();
            foreach (var line in text.Split('\n'))
            {
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }
                var match = Sample().Match(line);
                Assert.True(match.Success, $"not a sample line: {line}");
                var labels = Label().Matches(match.Groups["labels"].Value)
                    .ToDictionary(m => m.Groups[1].Value, m => Unescape(m.Groups[2].Value));
                exposition._samples.Add((match.Groups["name"].Value, labels, Number(match.Groups["value"].Value)));
            }
            return exposition;
        }

        /// <summary>The sum of the samples of <paramref name="name"/> whose labels include these (0 when none).</summary>
        public double Sum(string name, params (string Label, string Value)[] labels) =>
            _samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Label, out var v) && v == l.Value)).Sum(s => s.Value);

        private static double Number(string value) => value switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            _ => double.Parse(value, CultureInfo.InvariantCulture),
        };

        private static string Unescape(string value) => new StringBuilder(value).Replace("\\\"", "\"").Replace("\\n", "\n").Replace("\\\\", "\\").ToString();

        [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\S+)?$""")]
        private static partial Regex Sample();

        [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?""")]
        private static partial Regex Label();
    }
}
