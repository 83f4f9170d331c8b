using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Storage;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A whole <c>serve</c> process (api + executor + recon) in memory, on a real store of its own
/// (SQLite file or PostgreSQL database, see <see cref="TestStore"/>). Timings are shortened so retries and recon happen within a test.
/// </summary>
public sealed class SwitchboardFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    public SwitchboardFactory(TestStore store, Dictionary<string, string?>? settings = null)
    {
        _settings = new Dictionary<string, string?>(store.Settings)
        {
            ["Switchboard:Workers"] = "16",
            ["Switchboard:RetryBaseDelay"] = "00:00:00.020",
            ["Switchboard:RetryMaxDelay"] = "00:00:00.200",
            ["Switchboard:ReconInterval"] = "00:00:00.200",
            ["Switchboard:StorePollInterval"] = "00:00:00.100",
            ["Switchboard:ShutdownGrace"] = "00:00:01",
            // The fake upstreams listen on 127.0.0.1: allowed here, refused by default (Security tests).
            ["Switchboard:Outbound:AllowLoopback"] = "true",
        };
        foreach (var (key, value) in settings ?? [])
        {
            _settings[key] = value;
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }

    /// <summary>Reloads catalog and keys now instead of waiting for the next poll.</summary>
    public void Refresh() => Services.GetRequiredService<StoreWatcher>().Refresh();

    public HttpClient ClientFor(string apiKey)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }

    /// <summary>The request id of a submission's answer (202 or 200).</summary>
    public static async Task<string> IdOf(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();

    public static async Task<JsonObject> Get(HttpClient client, string id)
    {
        var response = await client.GetAsync($"/svc/request/{id}/");
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    /// <summary>Polls the request until its status is one of <paramref name="statuses"/>; fails the test after <paramref name="timeout"/>.</summary>
    public static Task<JsonObject> WaitFor(HttpClient client, string id, TimeSpan timeout, params string[] statuses) =>
        client.WaitForRequest(id, r => statuses.Contains(r["status"]!.GetValue<string>()), timeout);

    public static Task<JsonObject> WaitForEnd(HttpClient client, string id, TimeSpan? timeout = null) =>
        WaitFor(client, id, timeout ?? TimeSpan.FromSeconds(20), "succeeded", "failed", "cancelled", "expired");
}
