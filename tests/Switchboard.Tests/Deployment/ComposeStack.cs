using System.Text.RegularExpressions;

namespace Switchboard.Tests.Deployment;

/// <summary>
/// deploy/compose.yaml brought up with deploy/compose.host.yaml on host networking: every
/// service on a free 127.0.0.1 port of its own (PostgreSQL and Redis too: not the suite's), as a
/// compose project of its own, with fresh secrets. Host networking cannot publish ports, so the
/// project reads a copy of compose.yaml without its <c>ports:</c> lines (in a temporary folder;
/// the project folder stays deploy/, so every relative path means what it does in production).
/// Prometheus reads targets with those ports instead of deploy/compose-targets/. Disposing takes
/// the project down with its volumes and removes the folder.
/// </summary>
public sealed partial class ComposeStack : IAsyncDisposable
{
    private readonly string _deploy;
    private readonly string _folder;
    private readonly string _project = "sbtest" + Guid.NewGuid().ToString("N")[..10];
    private bool _up;

    public ComposeStack(string repositoryRoot, string image)
    {
        _deploy = Path.Combine(repositoryRoot, "deploy");
        _folder = Directory.CreateTempSubdirectory("sb-compose-").FullName;
        Ports = new Dictionary<string, int>();
        foreach (var name in new[] { "PG", "REDIS", "API", "API_METRICS", "EXECUTOR_1_METRICS", "EXECUTOR_2_METRICS", "RECON_METRICS", "PROMETHEUS", "ALERTMANAGER" })
        {
            Ports[name] = Infrastructure.SwitchboardProcess.FreePort();
        }
        Environment = new Dictionary<string, string>
        {
            ["SWITCHBOARD_IMAGE"] = image,
            // Secrets of this run only; never written to a file.
            ["POSTGRES_PASSWORD"] = "pg-" + Guid.NewGuid().ToString("N"),
            ["REDIS_PASSWORD"] = "redis-" + Guid.NewGuid().ToString("N"),
            ["SWITCHBOARD_FERNET_KEY"] = Config.Fernet.GenerateKey(),
            ["SB_PROMETHEUS_TARGETS"] = Path.Combine(_folder, "targets"),
        };
        foreach (var (name, port) in Ports)
        {
            Environment[$"SB_{name}_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The port of each service, by the name in its SB_*_PORT variable (API, PROMETHEUS, …).</summary>
    public Dictionary<string, int> Ports { get; }

    /// <summary>What docker-compose is run with: the image, the secrets and the ports.</summary>
    public Dictionary<string, string> Environment { get; }

    public Uri Api => new($"http://127.0.0.1:{Ports["API"]}");

    public Uri Prometheus => new($"http://127.0.0.1:{Ports["PROMETHEUS"]}");

    /// <summary>Writes the compose copy and the targets, then <c>up -d</c> (images are never pulled: they are local).</summary>
    public async Task Up(TimeSpan timeout)
    {
        var compose = await File.ReadAllTextAsync(Path.Combine(_deploy, "compose.yaml"));
        var withoutPorts = PortsLine().Replace(compose, "");
        Assert.NotEqual(compose, withoutPorts);
        Assert.DoesNotContain("ports:", withoutPorts, StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(_folder, "compose.yaml"), withoutPorts);

        var targets = Directory.CreateDirectory(Path.Combine(_folder, "targets")).FullName;
        await Target("api", $"127.0.0.1:{Ports["API_METRICS"]}");
        await Target("executor", $"127.0.0.1:{Ports["EXECUTOR_1_METRICS"]}", $"127.0.0.1:{Ports["EXECUTOR_2_METRICS"]}");
        await Target("recon", $"127.0.0.1:{Ports["RECON_METRICS"]}");
        await Target("alertmanager", $"127.0.0.1:{Ports["ALERTMANAGER"]}");
        // Prometheus runs as nobody in its container: the folders and files must be readable by all.
        if (!OperatingSystem.IsWindows())
        {
            const UnixFileMode ReadableByAll = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            const UnixFileMode Searchable = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            File.SetUnixFileMode(_folder, ReadableByAll | Searchable);
            File.SetUnixFileMode(targets, ReadableByAll | Searchable);
            foreach (var file in Directory.GetFiles(targets))
            {
                File.SetUnixFileMode(file, ReadableByAll);
            }
        }

        _up = true;
        await Compose(timeout, "up", "-d", "--no-build");

        async Task Target(string name, params string[] addresses) =>
            await File.WriteAllTextAsync(Path.Combine(targets, name + ".yml"),
                $"- targets: [{string.Join(", ", addresses.Select(a => $"\"{a}\""))}]\n");
    }

    /// <summary>Runs a switchboard command in the running api container (the image's own binary, on the compose's store).</summary>
    public Task<DockerCli.Result> Switchboard(string? input, params string[] args) =>
        Compose(TimeSpan.FromMinutes(1), input, ["exec", "-T", "api", "dotnet", "/app/switchboard.dll", .. args, "--config", "/etc/switchboard/switchboard.yaml"]);

    /// <summary>The last lines of every service's log, for a failure message.</summary>
    public async Task<string> Logs()
    {
        try
        {
            return (await DockerCli.Run("docker-compose", [.. Files(), "logs", "--no-color", "--tail", "15"], TimeSpan.FromSeconds(30), Environment, _deploy)).Output;
        }
        catch (TimeoutException e)
        {
            return e.Message;
        }
    }

    public Task<DockerCli.Result> Compose(TimeSpan timeout, params string[] args) => Compose(timeout, null, args);

    private Task<DockerCli.Result> Compose(TimeSpan timeout, string? input, string[] args) =>
        DockerCli.RunOk("docker-compose", [.. Files(), .. args], timeout, Environment, _deploy, input);

    private string[] Files() =>
        ["--project-name", _project, "--project-directory", _deploy, "--env-file", EmptyEnvFile(),
         "-f", Path.Combine(_folder, "compose.yaml"), "-f", Path.Combine(_deploy, "compose.host.yaml")];

    public async ValueTask DisposeAsync()
    {
        if (_up)
        {
            await DockerCli.Run("docker-compose", [.. Files(), "down", "--volumes", "--remove-orphans", "--timeout", "5"],
                TimeSpan.FromMinutes(2), Environment, _deploy);
        }
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>An empty --env-file in the stack's folder: a developer's deploy/.env must not change the test's stack.</summary>
    private string EmptyEnvFile()
    {
        var path = Path.Combine(_folder, "empty.env");
        if (!File.Exists(path))
        {
            File.WriteAllText(path, "");
        }
        return path;
    }

    /// <summary>A published port (<c>ports: [...]</c>, one line): host networking has none.</summary>
    [GeneratedRegex(@"^[ \t]*ports:[ \t]*\[[^\n]*\][ \t]*\n", RegexOptions.Multiline)]
    private static partial Regex PortsLine();
}
