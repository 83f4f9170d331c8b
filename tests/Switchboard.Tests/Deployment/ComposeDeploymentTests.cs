using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Switchboard.Tests.Deployment;

/// <summary>
/// The Dockerfile and deploy/compose.yaml, run for real on the dockerd test.sh started (with the
/// base images it made offline: scripts/containers.sh): the image builds, the stack (api, two
/// executors, recon, PostgreSQL, Redis, Prometheus, Alertmanager) comes up on host networking,
/// the api answers, requests succeed through the executors, and the compose's Prometheus scrapes
/// every Switchboard process. test.sh runs this class alone, before the rest of the suite, so
/// the image build competes with no other test. Without SWITCHBOARD_TEST_DOCKER these tests fail.
/// </summary>
public sealed class ComposeDeploymentTests : IAsyncLifetime
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(6);
    private static readonly string Catalog = TestCatalogs.ShoutOnce;
    private const int Requests = 6;

    private readonly string _root = RepositoryRoot();
    private readonly string _image = "switchboard-test:" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _emptyEnvFile = Path.GetTempFileName();
    private ComposeStack? _stack;
    private bool _built;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        File.Delete(_emptyEnvFile);
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
        if (_built)
        {
            await DockerCli.Run("docker", ["rmi", "--force", _image], TimeSpan.FromMinutes(1));
        }
    }

    [Fact]
    public async Task TheImageRunsTheComposeDeploymentAndRequestsSucceedThroughItsExecutors()
    {
        Assert.Equal("1", TestServices.Docker);
        // NuGet's revocation check needs the internet; a machine that restores from a mirror says
        // so in its environment (test.sh's), and the build inherits it.
        var revocation = Environment.GetEnvironmentVariable("NUGET_CERT_REVOCATION_MODE") is { Length: > 0 } mode ? mode : "online";
        _built = true;
        await DockerCli.RunOk("docker",
            ["build", "--network", "host", "--build-arg", $"NUGET_CERT_REVOCATION_MODE={revocation}", "-t", _image, _root],
            BuildTimeout);

        _stack = new ComposeStack(_root, _image);
        try
        {
            await _stack.Up(TimeSpan.FromMinutes(2));
            // Grafana is in a profile of its own (it has no image here): up leaves it out.
            Assert.Equal("", (await _stack.Compose(TimeSpan.FromMinutes(1), "ps", "-q", "grafana")).Output.Trim());
            await RequestsSucceedAndPrometheusScrapesEveryProcess(_stack);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException($"{e.Message}\n--- the services' logs:\n{await _stack.Logs()}", e);
        }
    }

    [Fact]
    public async Task TheComposeFilesAreValidForDockerCompose()
    {
        Assert.Equal("1", TestServices.Docker);
        var deploy = Path.Combine(_root, "deploy");
        // Placeholders for the values compose requires; nothing is started.
        var environment = new Dictionary<string, string>
        {
            ["POSTGRES_PASSWORD"] = "placeholder",
            ["REDIS_PASSWORD"] = "placeholder",
            ["SWITCHBOARD_FERNET_KEY"] = "placeholder",
            ["DISCORD_WEBHOOK_URL"] = "https://discord.invalid/webhook",
        };
        var services = await DockerCli.RunOk("docker-compose", [.. NoEnvFile, "-f", "compose.yaml", "config", "--services"], TimeSpan.FromMinutes(1), environment, deploy);
        Assert.Equal(["alertmanager", "api", "executor-1", "executor-2", "grafana", "postgres", "prometheus", "recon", "redis"],
            services.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal));
        // Grafana (no image here) only with --profile grafana; the other services always.
        var resolved = await DockerCli.RunOk("docker-compose", [.. NoEnvFile, "-f", "compose.yaml", "config"], TimeSpan.FromMinutes(1), environment, deploy);
        var all = (YamlMappingNode)((YamlMappingNode)Yaml(resolved.Output)["services"]);
        foreach (var (name, service) in all.Children)
        {
            var profiles = ((YamlMappingNode)service).Children.TryGetValue("profiles", out var p) ? ((YamlSequenceNode)p).Select(n => n.ToString()).ToList() : [];
            Assert.Equal(name.ToString() == "grafana" ? ["grafana"] : [], profiles);
        }
        // The full configuration with Grafana's mounts: every file it mounts exists in deploy/.
        var config = await DockerCli.RunOk("docker-compose", [.. NoEnvFile, "-f", "compose.yaml", "--profile", "grafana", "config"], TimeSpan.FromMinutes(1), environment, deploy);
        foreach (var mounted in new[] { "grafana/provisioning/alerting", "grafana/compose-datasources", "grafana/dashboard.json", "prometheus.compose.yml", "alerts.yml", "compose-targets", "alertmanager.yml", "switchboard.compose.yaml" })
        {
            Assert.Contains(Path.Combine(deploy, mounted), config.Output, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(deploy, mounted)) || Directory.Exists(Path.Combine(deploy, mounted)), mounted);
        }
        // Without a secret compose refuses to start, naming it.
        var missing = await DockerCli.Run("docker-compose", [.. NoEnvFile, "-f", "compose.yaml", "config"], TimeSpan.FromMinutes(1),
            new Dictionary<string, string> { ["REDIS_PASSWORD"] = "placeholder", ["SWITCHBOARD_FERNET_KEY"] = "placeholder" }, deploy);
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("set POSTGRES_PASSWORD", missing.Output, StringComparison.Ordinal);

        static YamlMappingNode Yaml(string text)
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            return (YamlMappingNode)stream.Documents[0].RootNode;
        }
    }

    /// <summary>
    /// An empty --env-file: a developer's deploy/.env (real secrets, other settings) must not
    /// change what these tests see. Compose wants a file, not /dev/null.
    /// </summary>
    private string[] NoEnvFile => ["--env-file", _emptyEnvFile];

    private static async Task RequestsSucceedAndPrometheusScrapesEveryProcess(ComposeStack stack)
    {
        using var http = new HttpClient { BaseAddress = stack.Api, Timeout = TimeSpan.FromSeconds(10) };
        await Wait.Until(async () => await Answers(http, "/healthz"), TimeSpan.FromSeconds(90), "the api container to answer /healthz", TimeSpan.FromMilliseconds(500));

        // The management commands of the image, on the compose's PostgreSQL.
        var applied = await stack.Switchboard(Catalog, "catalog", "apply", "/dev/stdin");
        Assert.Contains("1 offer(s)", applied.Output, StringComparison.Ordinal);
        var created = await stack.Switchboard(null, "users", "create", "alice", "--credits", "100");
        var user = JsonNode.Parse(created.Output.Split('\n').First(l => l.StartsWith('{')))!;
        http.DefaultRequestHeaders.Authorization = new("Bearer", user["api_key"]!.GetValue<string>());

        // The api stores and queues; only the executors run jobs, so a success went through them.
        await Wait.Until(async () => (await http.GetFromJsonAsync<JsonObject>("/svc/"))!["services"]!.AsArray().Count > 0,
            TimeSpan.FromSeconds(30), "the api to sell the catalog's offer", TimeSpan.FromMilliseconds(200));
        var ids = new List<string>();
        for (var i = 0; i < Requests; i++)
        {
            ids.Add(await http.SubmitAsync("/svc/text/shout/", new { word = $"w{i}" }));
        }
        foreach (var id in ids)
        {
            var status = await Wait.For(async () => (await http.GetFromJsonAsync<JsonObject>($"/svc/request/{id}/"))!["status"]!.GetValue<string>(),
                s => s is "succeeded" or "failed", TimeSpan.FromSeconds(60), $"request {id} to end", TimeSpan.FromMilliseconds(200));
            Assert.Equal("succeeded", status);
        }

        // The compose's Prometheus (15 s scrapes) reads every process and the executors' work.
        using var prometheus = new HttpClient { BaseAddress = stack.Prometheus, Timeout = TimeSpan.FromSeconds(10) };
        var timeout = TimeSpan.FromSeconds(60);
        var poll = TimeSpan.FromSeconds(1);
        Assert.Equal(1, await Wait.For(() => Value(prometheus, "up{job=\"switchboard-api\"}"), v => v == 1, timeout, "Prometheus to scrape the api", poll));
        Assert.Equal(1, await Wait.For(() => Value(prometheus, "up{job=\"switchboard-recon\"}"), v => v == 1, timeout, "Prometheus to scrape recon", poll));
        Assert.Equal(2, await Wait.For(() => Value(prometheus, "sum(up{job=\"switchboard-executor\"})"), v => v == 2, timeout, "Prometheus to scrape both executors", poll));
        const string processed = "sum(switchboard_requests_processed_total{job=\"switchboard-executor\",handler=\"echo.render\",outcome=\"succeeded\"})";
        Assert.Equal(Requests, await Wait.For(() => Value(prometheus, processed), v => v >= Requests, timeout, $"Prometheus to read {processed}", poll));
    }

    private static async Task<bool> Answers(HttpClient http, string path)
    {
        try
        {
            return (await http.GetAsync(path)).IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false; // Not listening yet.
        }
    }

    /// <summary>The value of a one-series instant query; null without a series or when Prometheus is not up yet.</summary>
    private static async Task<double?> Value(HttpClient prometheus, string promql)
    {
        try
        {
            var answer = await prometheus.GetFromJsonAsync<JsonObject>("/api/v1/query?query=" + Uri.EscapeDataString(promql));
            return answer?["data"]?["result"]?.AsArray() is [{ } series, ..]
                ? double.Parse(series["value"]![1]!.GetValue<string>(), CultureInfo.InvariantCulture)
                : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

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
}
