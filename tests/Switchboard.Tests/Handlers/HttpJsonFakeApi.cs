using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Switchboard.Tests.Handlers;

/// <summary>One call the fake JSON API received, as it arrived (the raw body, the query string).</summary>
public sealed record JsonApiCall(DateTimeOffset ReceivedAt, string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public JsonNode Json => JsonNode.Parse(Body)!;

    public string? Header(string name) => Headers.GetValueOrDefault(name);
}

/// <summary>What the fake answers: a status, a raw body, headers.</summary>
public sealed record JsonApiReply(int Status, string Body, IReadOnlyDictionary<string, string> Headers)
{
    public static JsonApiReply Json(int status, string json) => new(status, json, new Dictionary<string, string>());

    public JsonApiReply WithHeader(string name, string value) =>
        this with { Headers = new Dictionary<string, string>(Headers, StringComparer.OrdinalIgnoreCase) { [name] = value } };
}

/// <summary>
/// Any JSON API on a real Kestrel socket (127.0.0.1, ephemeral port), for <c>http.json</c>: it
/// answers every path and method from a script (queued replies first, then <see cref="Fallback"/>)
/// and records each call with its query string and raw body, so a test sees exactly what
/// reached the wire.
/// </summary>
public sealed class HttpJsonFakeApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<JsonApiReply> _script = new();
    private readonly List<JsonApiCall> _calls = [];

    private HttpJsonFakeApi(WebApplication app) => _app = app;

    /// <summary>http://127.0.0.1:PORT (no trailing slash).</summary>
    public string Address { get; private set; } = "";

    public Func<JsonApiCall, JsonApiReply> Fallback { get; set; } = _ => JsonApiReply.Json(500, """{"error": {"message": "nothing scripted"}}""");

    public IReadOnlyList<JsonApiCall> Calls
    {
        get
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }
    }

    public static async Task<HttpJsonFakeApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Urls.Add("http://127.0.0.1:0");
        var fake = new HttpJsonFakeApi(app);
        app.Run(fake.Answer);
        await app.StartAsync();
        fake.Address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single().TrimEnd('/');
        return fake;
    }

    public void Enqueue(params JsonApiReply[] replies)
    {
        foreach (var reply in replies)
        {
            _script.Enqueue(reply);
        }
    }

    private async Task Answer(HttpContext http)
    {
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(http.RequestAborted);
        var call = new JsonApiCall(
            DateTimeOffset.UtcNow, http.Request.Method, http.Request.Path.Value ?? "", http.Request.QueryString.Value ?? "",
            http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body);
        lock (_calls)
        {
            _calls.Add(call);
        }
        var reply = _script.TryDequeue(out var scripted) ? scripted : Fallback(call);
        http.Response.StatusCode = reply.Status;
        foreach (var (name, value) in reply.Headers)
        {
            http.Response.Headers[name] = value;
        }
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(reply.Body, http.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
