using System.Diagnostics;
using System.Net.Http.Json;
using Switchboard.Tests.OpenApi;

namespace Switchboard.Tests.Webhooks;

/// <summary>
/// tests/node-clients/webhook-receiver.mjs on 127.0.0.1: a receiver that verifies each delivery
/// with the npm <c>standardwebhooks</c> package (no code of ours), answers as its URL asks
/// (<c>?fail=N</c>, <c>?gone=1</c>, <c>?delay=MS</c>) and keeps a log of every delivery.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly Process _process;
    private readonly HttpClient _http;

    private WebhookReceiver(Process process, int port)
    {
        _process = process;
        Address = new Uri($"http://127.0.0.1:{port}/");
        _http = new HttpClient { BaseAddress = Address };
    }

    public Uri Address { get; }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var dir = Path.Combine(OpenApiClientTests.RepoRoot(), "tests", "node-clients");
        Assert.True(Directory.Exists(Path.Combine(dir, "node_modules", "standardwebhooks")),
            "tests/node-clients has no node_modules: run `npm ci` there (./test.sh does)");
        var info = new ProcessStartInfo("node", "webhook-receiver.mjs")
        {
            WorkingDirectory = dir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException("node did not start");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var first = await process.StandardOutput.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("the receiver did not start");
        return new WebhookReceiver(process, JsonNode.Parse(first)!["port"]!.GetValue<int>());
    }

    /// <summary>The URL of a receiving path: <paramref name="name"/> picks the secrets, <paramref name="query"/> the behaviour.</summary>
    public string Url(string name, string query = "") => new Uri(Address, name + (query.Length > 0 ? "?" + query : "")).AbsoluteUri;

    public async Task SetSecretsAsync(string name, params string[] secrets) =>
        (await _http.PostAsJsonAsync($"/_secrets/{name}", new { secrets })).EnsureSuccessStatusCode();

    /// <summary>Every delivery seen: name, id (webhook-id), verified, the status answered, the verified payload.</summary>
    public async Task<List<JsonObject>> LogAsync() =>
        [.. (await _http.GetFromJsonAsync<JsonArray>("/_log"))!.Select(e => e!.AsObject())];

    public async Task<List<JsonObject>> WaitForAsync(Func<List<JsonObject>, bool> done, string what, TimeSpan? timeout = null) =>
        await Wait.For(LogAsync, done, timeout ?? TimeSpan.FromSeconds(30), what, TimeSpan.FromMilliseconds(50));

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(3000))
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited already.
        }
        _process.Dispose();
        await Task.CompletedTask;
    }
}
