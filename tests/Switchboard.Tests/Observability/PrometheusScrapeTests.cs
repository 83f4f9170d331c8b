using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Observability;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Observability;

/// <summary>
/// A real Prometheus (the binary test.sh installs, on a free 127.0.0.1 port with its own
/// storage) scraping a running <c>serve</c> every second: what the server exports is what
/// Prometheus stores, and the Grafana dashboard's queries are valid PromQL. Without the binary
/// these tests fail; they are never skipped.
/// </summary>
public sealed class PrometheusScrapeTests : IAsyncLifetime
{
    private static readonly string Catalog = TestCatalogs.ShoutOnce;

    private readonly TestStore _store = TestStore.Create(StoreKind.Sqlite);
    private SwitchboardProcess? _serve;
    private Process? _prometheus;
    private HttpClient _query = new();
    private string _key = "";

    public async Task InitializeAsync()
    {
        await Infrastructure.Cli.ApplyCatalog(_store, Catalog);
        (_, _key) = await Infrastructure.Cli.CreateUser(_store, "alice", 100);
        // serve and Prometheus read the same token file: the main URL's /metrics needs the token.
        var tokenFile = Path.Combine(_store.Path, "metrics.token");
        await File.WriteAllTextAsync(tokenFile, "prometheus-scrape-token-" + Guid.NewGuid().ToString("N") + "\n");
        _serve = await SwitchboardProcess.Start(_store, $"--{MetricsHosting.BearerTokenFileKey}={tokenFile}");
        try
        {
            _query = await StartPrometheus(_serve.Address!, tokenFile);
        }
        catch
        {
            // xUnit does not dispose a class whose InitializeAsync failed: stop serve here, or it outlives the run.
            await StopProcesses();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        _query.Dispose();
        await StopProcesses();
        await _store.DisposeAsync();
    }

    /// <summary>Stops Prometheus and serve, once: a second call finds nothing left to stop.</summary>
    private async Task StopProcesses()
    {
        if (_prometheus is { HasExited: false })
        {
            _prometheus.Kill(entireProcessTree: true);
            await _prometheus.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        _prometheus?.Dispose();
        _prometheus = null;
        if (_serve is not null)
        {
            await _serve.DisposeAsync();
            _serve = null;
        }
    }

    [Fact]
    public async Task PrometheusReadsTheRequestsProcessedCounterOfARunningServe()
    {
        using var client = _serve!.Client(_key);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await client.SubmitAsync("/svc/text/shout/", new { word = $"w{i}" }));
        }
        foreach (var id in ids)
        {
            await WaitUntil(async () =>
                (await client.GetFromJsonAsync<JsonObject>($"/svc/request/{id}/"))!["status"]!.GetValue<string>() == "succeeded",
                $"request {id} to succeed");
        }

        const string query = "sum(switchboard_requests_processed_total{job=\"switchboard\",handler=\"echo.render\",outcome=\"succeeded\"})";
        var seen = await Wait.For(async () => Value(await Query(query)), v => v >= ids.Count, TimeSpan.FromSeconds(30),
            $"Prometheus to read {ids.Count} for {query} (null: no series)", TimeSpan.FromMilliseconds(200));
        Assert.Equal(ids.Count, seen);
    }

    [Fact]
    public async Task EveryQueryOfTheGrafanaDashboardIsValidPromQL()
    {
        var dashboard = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "deploy", "grafana", "dashboard.json")))!;
        var expressions = dashboard["panels"]!.AsArray()
            .SelectMany(p => p!["targets"]?.AsArray() ?? [])
            .Select(t => t!["expr"]!.GetValue<string>())
            .ToList();
        Assert.True(expressions.Count >= 10, $"only {expressions.Count} queries in the dashboard");
        foreach (var expression in expressions)
        {
            // Grafana's variable; Prometheus itself does not know it.
            var result = await Query(expression.Replace("$__rate_interval", "1m", StringComparison.Ordinal));
            Assert.True(result["status"]?.GetValue<string>() == "success", $"{expression}: {result.ToJsonString()}");
        }
    }

    [Fact]
    public async Task EveryQueryOfGrafanasAlertRulesIsValidPromQL()
    {
        var expressions = MonitoringFilesTests.GrafanaAlertExpressions().ToList();
        Assert.True(expressions.Count >= 4, $"only {expressions.Count} queries in Grafana's alert rules");
        foreach (var (title, expression) in expressions)
        {
            var result = await Query(expression);
            Assert.True(result["status"]?.GetValue<string>() == "success", $"{title}: {expression}: {result.ToJsonString()}");
        }
    }

    private async Task<HttpClient> StartPrometheus(Uri target, string tokenFile)
    {
        var folder = Path.Combine(_store.Path, "prometheus");
        Directory.CreateDirectory(folder);
        var config = Path.Combine(folder, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: switchboard
                metrics_path: /metrics
                authorization:
                  credentials_file: "{tokenFile}"
                static_configs:
                  - targets: ["{target.Authority}"]
            """);
        var port = SwitchboardProcess.FreePort();
        var info = new ProcessStartInfo(TestServices.Prometheus)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            $"--config.file={config}",
            $"--storage.tsdb.path={Path.Combine(folder, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        })
        {
            info.ArgumentList.Add(arg);
        }
        _prometheus = Process.Start(info)!;
        var log = File.AppendText(Path.Combine(folder, "prometheus.log"));
        log.AutoFlush = true;
        _prometheus.OutputDataReceived += (_, e) => Write(log, e.Data);
        _prometheus.ErrorDataReceived += (_, e) => Write(log, e.Data);
        _prometheus.BeginOutputReadLine();
        _prometheus.BeginErrorReadLine();

        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        await WaitUntil(async () =>
        {
            Assert.False(_prometheus.HasExited, $"prometheus exited with {(_prometheus.HasExited ? _prometheus.ExitCode : 0)}; see {folder}/prometheus.log");
            try
            {
                return (await client.GetAsync("/-/ready")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false; // Not listening yet.
            }
        }, "prometheus to be ready");
        return client;

        static void Write(StreamWriter log, string? line)
        {
            if (line is not null)
            {
                lock (log)
                {
                    log.WriteLine(line);
                }
            }
        }
    }

    /// <summary>An instant query through Prometheus's HTTP API: the whole answer (status, data or error).</summary>
    private async Task<JsonObject> Query(string promql)
    {
        var response = await _query.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(promql));
        return (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    /// <summary>The value of a one-series vector answer; null when it has no series.</summary>
    private static double? Value(JsonObject answer) =>
        answer["data"]?["result"]?.AsArray() is [{ } series, ..]
            ? double.Parse(series["value"]![1]!.GetValue<string>(), CultureInfo.InvariantCulture)
            : null;

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Switchboard.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("no Switchboard.slnx above " + AppContext.BaseDirectory);
    }

    private static Task WaitUntil(Func<Task<bool>> condition, string what) =>
        Wait.Until(condition, TimeSpan.FromSeconds(30), what, TimeSpan.FromMilliseconds(200));
}
