using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// The built <c>switchboard</c> binary as a real OS process on 127.0.0.1 (serve, api, executor
/// or recon), for what an in-memory host cannot show: several processes sharing a deployment,
/// and a kill -9 in the middle of work. Logs are JSON lines (what a server writes when stdout is not a terminal), kept in memory for assertions and
/// written to the test's folder.
/// </summary>
public sealed class SwitchboardProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<JsonObject> _logs = new();
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();

    private SwitchboardProcess(Process process, string role, Uri? address)
    {
        _process = process;
        Role = role;
        Address = address;
    }

    public string Role { get; }

    /// <summary>The HTTP address (serve and api only).</summary>
    public Uri? Address { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Every log entry so far (the servers' JSON lines: Timestamp, LogLevel, Category, Role, RequestId, Message, State, Scopes).</summary>
    public IReadOnlyCollection<JsonObject> Logs => _logs;

    /// <summary>Every line the process wrote on stdout so far, as written.</summary>
    public IReadOnlyCollection<string> StdoutLines => _stdout;

    public IReadOnlyCollection<string> StderrLines => _stderr;

    /// <summary>Starts <c>switchboard serve</c> and waits until it is ready.</summary>
    public static Task<SwitchboardProcess> Start(TestStore store, params string[] extraArgs) => StartRole(store, "serve", extraArgs);

    /// <summary>
    /// Starts a role and waits until it is ready: <c>/readyz</c> answers for serve and api; the
    /// executor and recon have no HTTP and are ready when they log that they started.
    /// </summary>
    public static async Task<SwitchboardProcess> StartRole(TestStore store, string role, string[] extraArgs, IDictionary<string, string>? environment = null)
    {
        var http = role is "serve" or "api";
        var address = http ? new Uri($"http://127.0.0.1:{FreePort()}") : null;
        var info = new ProcessStartInfo(Cli.Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var args = new List<string> { role };
        if (address is not null)
        {
            args.AddRange(["--urls", address.ToString()]);
        }
        // A test's own --config (another bootstrap file for the same store) replaces the store's.
        if (!extraArgs.Contains("--config"))
        {
            args.AddRange(store.ProcessArgs);
        }
        args.AddRange(extraArgs);
        args.ForEach(info.ArgumentList.Add);
        // The fake upstreams listen on 127.0.0.1: allowed here, refused by default (Security tests).
        info.Environment["Switchboard__Outbound__AllowLoopback"] = "true";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        var process = Process.Start(info)!;
        var started = new SwitchboardProcess(process, role, address);
        var log = File.AppendText(Path.Combine(store.Path, $"{role}-{process.Id}.log"));
        log.AutoFlush = true;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                started._stdout.Enqueue(e.Data);
            }
            started.Record(log, e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                started._stderr.Enqueue(e.Data);
            }
            started.Record(log, e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var readyLine = role switch { "executor" => "Executor started", "recon" => "Recon started", _ => null };
        using var client = new HttpClient { BaseAddress = address };
        try
        {
            // An exit while starting fails at once (the condition throws), not at the deadline.
            await Wait.Until(async () => process.HasExited
                    ? throw new InvalidOperationException($"{role} exited with {process.ExitCode}; see {store.Path}/{role}-{process.Id}.log")
                    : readyLine is not null ? started.Logged(readyLine) : await Ready(client),
                TimeSpan.FromSeconds(30), $"{role} to become ready", TimeSpan.FromMilliseconds(100));
            return started;
        }
        catch (TimeoutException)
        {
            await started.DisposeAsync();
            throw;
        }
    }

    private static async Task<bool> Ready(HttpClient client)
    {
        try
        {
            return (await client.GetAsync("/readyz")).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false; // Not listening yet.
        }
    }

    /// <summary>Whether a log message so far contains <paramref name="text"/>.</summary>
    public bool Logged(string text) => _logs.Any(e => e["Message"]?.GetValue<string>().Contains(text, StringComparison.Ordinal) == true);

    private void Record(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (log)
        {
            log.WriteLine(line);
        }
        if (line.StartsWith('{'))
        {
            try
            {
                if (JsonNode.Parse(line) is JsonObject entry)
                {
                    _logs.Enqueue(entry);
                }
            }
            catch (System.Text.Json.JsonException)
            {
                // Not a log entry (a stray line on stdout): kept in the file only.
            }
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, exactly like a crash or an OOM kill.</summary>
    public async Task Kill()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>SIGTERM, as a service manager stops a process; returns its exit code.</summary>
    public async Task<int> Terminate(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    public HttpClient Client(string apiKey)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(10) };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await Kill();
        }
        _process.Dispose();
    }
}
