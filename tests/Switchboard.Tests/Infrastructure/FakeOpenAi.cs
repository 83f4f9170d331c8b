using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Switchboard.Tests.Infrastructure;

/// <summary>One request the fake received, as it arrived.</summary>
public sealed record FakeCall(int Index, DateTimeOffset ReceivedAt, string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body)
{
    /// <summary>The body as JSON (every OpenAI call has a JSON object body).</summary>
    public JsonObject Json => (JsonObject)JsonNode.Parse(Body)!;

    public string? Header(string name) => Headers.GetValueOrDefault(name);
}

/// <summary>How a call ended: <paramref name="Answered"/> in full, or abandoned by the client before the answer (a cancelled handler).</summary>
public sealed record FakeCallEnd(bool Answered, DateTimeOffset At);

/// <summary>What the fake answers to one call: a status, a body, headers, optionally after a delay.</summary>
public sealed record FakeReply(int Status, string Body, IReadOnlyDictionary<string, string> Headers, TimeSpan Delay)
{
    public static readonly JsonObject DefaultUsage = new() { ["prompt_tokens"] = 11, ["completion_tokens"] = 7, ["total_tokens"] = 18 };

    /// <summary>A 200 chat completion with one choice per content, and <paramref name="usage"/> (default <see cref="DefaultUsage"/>).</summary>
    public static FakeReply Choices(IEnumerable<string> contents, JsonObject? usage = null)
    {
        var choices = new JsonArray();
        var index = 0;
        foreach (var content in contents)
        {
            choices.Add(new JsonObject
            {
                ["index"] = index++,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content },
                ["finish_reason"] = "stop",
            });
        }
        var body = new JsonObject
        {
            ["id"] = "chatcmpl-fake",
            ["object"] = "chat.completion",
            ["model"] = "test-model",
            ["choices"] = choices,
            ["usage"] = (usage ?? DefaultUsage).DeepClone(),
        };
        return Json(200, body);
    }

    public static FakeReply Choices(params string[] contents) => Choices((IEnumerable<string>)contents);

    /// <summary>A 200 images answer: each image as <c>b64_json</c>, with <paramref name="usage"/> when given (the GPT image models send it).</summary>
    public static FakeReply Images(IEnumerable<byte[]> images, JsonObject? usage = null)
    {
        var data = new JsonArray([.. images.Select(bytes => (JsonNode)new JsonObject { ["b64_json"] = Convert.ToBase64String(bytes) })]);
        var body = new JsonObject { ["created"] = 1_700_000_000, ["data"] = data };
        if (usage is not null)
        {
            body["usage"] = usage.DeepClone();
        }
        return Json(200, body);
    }

    /// <summary>A 200 images answer that names URLs instead of carrying the images (DALL·E's default).</summary>
    public static FakeReply ImageUrls(params string[] urls) =>
        Json(200, new JsonObject { ["created"] = 1_700_000_000, ["data"] = new JsonArray([.. urls.Select(u => (JsonNode)new JsonObject { ["url"] = u })]) });

    /// <summary>
    /// A 200 embeddings answer, one entry per vector, in the encoding the call asked for
    /// (<c>base64</c>: the floats' little-endian bytes, as the API sends them; else numbers).
    /// </summary>
    public static FakeReply Embeddings(FakeCall call, IReadOnlyList<float[]> vectors, int promptTokens = 5)
    {
        var base64 = call.Json["encoding_format"]?.GetValue<string>() == "base64";
        var data = new JsonArray();
        for (var i = 0; i < vectors.Count; i++)
        {
            JsonNode embedding = base64
                ? Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vectors[i].AsSpan()))
                : new JsonArray([.. vectors[i].Select(f => (JsonNode)JsonValue.Create(f))]);
            data.Add(new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = embedding });
        }
        return Json(200, new JsonObject
        {
            ["object"] = "list",
            ["data"] = data,
            ["model"] = call.Json["model"]?.GetValue<string>(),
            ["usage"] = new JsonObject { ["prompt_tokens"] = promptTokens, ["total_tokens"] = promptTokens },
        });
    }

    /// <summary>An OpenAI-style error: <c>{"error": {"message": ..., "type": ...}}</c>.</summary>
    public static FakeReply Error(int status, string message) =>
        Json(status, new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = "fake_error", ["code"] = null } });

    public static FakeReply Json(int status, JsonNode body) => new(status, body.ToJsonString(), new Dictionary<string, string>(), TimeSpan.Zero);

    public static FakeReply Text(int status, string body) => new(status, body, new Dictionary<string, string>(), TimeSpan.Zero);

    public FakeReply WithHeader(string name, string value) =>
        this with { Headers = new Dictionary<string, string>(Headers, StringComparer.OrdinalIgnoreCase) { [name] = value } };

    /// <summary>Answers only after <paramref name="delay"/> (or never, if the client gives up first).</summary>
    public FakeReply After(TimeSpan delay) => this with { Delay = delay };

    /// <summary>A streamed answer's pieces (<c>text/event-stream</c>), each written and flushed on its own; null for a whole body.</summary>
    public IReadOnlyList<string>? Chunks { get; init; }

    /// <summary>When set, the last of <see cref="Chunks"/> is sent only once this completes: a test sees what came before while the upstream has not finished.</summary>
    public Task? BeforeLastChunk { get; init; }

    /// <summary>When set, nothing of <see cref="Chunks"/> is sent before this completes (the headers are): a test starts following first.</summary>
    public Task? BeforeFirstChunk { get; init; }

    /// <summary>A 200 <c>text/event-stream</c> answer written piece by piece, its last piece held until <paramref name="beforeLast"/> completes.</summary>
    public static FakeReply Stream(IEnumerable<string> chunks, Task? beforeLast = null) =>
        new(200, "", new Dictionary<string, string>(), TimeSpan.Zero) { Chunks = [.. chunks], BeforeLastChunk = beforeLast };

    /// <summary>One Server-Sent Event: <c>data: …</c> (and <c>event: …</c> when named), then the blank line.</summary>
    public static string Sse(string data, string? name = null) => (name is null ? "" : $"event: {name}\n") + $"data: {data}\n\n";

    /// <summary>
    /// A streamed chat completion (<c>stream: true</c>) of one choice per list in
    /// <paramref name="choices"/>: a role chunk, each choice's deltas in turn (choices interleaved),
    /// a finish chunk, the usage chunk (<see cref="DefaultUsage"/> unless given; none with
    /// <paramref name="withUsage"/> false) and <c>data: [DONE]</c>. The last delta and everything after it are one
    /// piece, the one <paramref name="beforeLast"/> holds back; <paramref name="tail"/> replaces the
    /// finish, usage and [DONE] (an error event, or nothing: a cut stream).
    /// </summary>
    public static FakeReply ChatStream(IReadOnlyList<IReadOnlyList<string>> choices, Task? beforeLast = null, JsonObject? usage = null, bool withUsage = true, string? tail = null)
    {
        static string Chunk(JsonArray choices, JsonObject? usage = null)
        {
            var chunk = new JsonObject { ["id"] = "chatcmpl-fake", ["object"] = "chat.completion.chunk", ["model"] = "test-model", ["choices"] = choices };
            if (usage is not null)
            {
                chunk["usage"] = usage.DeepClone();
            }
            return Sse(chunk.ToJsonString());
        }
        var pieces = new List<string>
        {
            Chunk([.. choices.Select((_, i) => (JsonNode)new JsonObject { ["index"] = i, ["delta"] = new JsonObject { ["role"] = "assistant", ["content"] = "" } })]),
        };
        for (var step = 0; step < choices.Max(c => c.Count); step++)
        {
            for (var i = 0; i < choices.Count; i++)
            {
                if (step < choices[i].Count)
                {
                    pieces.Add(Chunk([new JsonObject { ["index"] = i, ["delta"] = new JsonObject { ["content"] = choices[i][step] } }]));
                }
            }
        }
        var end = tail ?? Chunk([.. choices.Select((_, i) => (JsonNode)new JsonObject { ["index"] = i, ["delta"] = new JsonObject(), ["finish_reason"] = "stop" })])
            + (withUsage ? Chunk([], usage ?? DefaultUsage) : "") + Sse("[DONE]");
        pieces[^1] += end;
        return Stream(pieces, beforeLast);
    }

    /// <summary>A streamed chat completion of one choice made of <paramref name="deltas"/> (see the general form).</summary>
    public static FakeReply ChatStream(IReadOnlyList<string> deltas, Task? beforeLast = null) => ChatStream([deltas], beforeLast);
}

/// <summary>
/// An OpenAI-compatible server on a real Kestrel socket (127.0.0.1, ephemeral port), for handler
/// tests that go over the wire. It records every call (headers, body, arrival time) and answers
/// from a script: queued replies first, one per call, then <see cref="Fallback"/>, which by default
/// returns the requested <c>n</c> choices ("choice 1", "choice 2", ...).
/// </summary>
public sealed class FakeOpenAi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<FakeReply> _script = new();
    private readonly List<FakeCall> _calls = [];

    private FakeOpenAi(WebApplication app) => _app = app;

    /// <summary>http://127.0.0.1:PORT (no trailing slash).</summary>
    public string Address { get; private set; } = "";

    /// <summary>What an offer's <c>params.base_url</c> should be.</summary>
    public string BaseUrl => Address + "/v1";

    /// <summary>Answers a call when no scripted reply is queued.</summary>
    public Func<FakeCall, FakeReply> Fallback { get; set; } = ByPath;

    public IReadOnlyList<FakeCall> Calls
    {
        get
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }
    }

    public static async Task<FakeOpenAi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Urls.Add("http://127.0.0.1:0");
        var fake = new FakeOpenAi(app);
        app.Run(fake.Handle);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        fake.Address = addresses.Single().TrimEnd('/');
        return fake;
    }

    /// <summary>Queues replies for the next calls, in order.</summary>
    public void Enqueue(params FakeReply[] replies)
    {
        foreach (var reply in replies)
        {
            _script.Enqueue(reply);
        }
    }

    private readonly ConcurrentDictionary<int, FakeCallEnd> _ends = new();

    /// <summary>How each call ended so far, by <see cref="FakeCall.Index"/>: answered in full, or abandoned by the client first.</summary>
    public IReadOnlyDictionary<int, FakeCallEnd> Ends => _ends;

    /// <summary>Waits (bounded) until at least <paramref name="count"/> calls arrived.</summary>
    public async Task<IReadOnlyList<FakeCall>> WaitForCalls(int count, TimeSpan timeout)
    {
        await Wait.Until(() => Calls.Count >= count, timeout, () => $"{count} calls to the fake OpenAI server (it got {Calls.Count})");
        return Calls;
    }

    /// <summary>
    /// The default fallback, by the API's path: chat as <see cref="EchoN"/>, images as
    /// <see cref="ImageN"/>, embeddings as <see cref="EmbedEach"/>; any other path as chat (tests
    /// of other parts point profiles at other paths).
    /// </summary>
    public static FakeReply ByPath(FakeCall call) =>
        call.Path.EndsWith("/images/generations", StringComparison.Ordinal) ? ImageN(call)
        : call.Path.EndsWith("/embeddings", StringComparison.Ordinal) ? EmbedEach(call)
        : EchoN(call);

    /// <summary>The bytes of image <paramref name="i"/> the fallback sends for <paramref name="prompt"/>: a PNG signature, then bytes derived from both.</summary>
    public static byte[] ImageBytes(string prompt, int i, int length = 2048)
    {
        var bytes = new byte[length];
        new Random(HashCode.Combine(prompt.Length, i) ^ prompt.Sum(c => c)).NextBytes(bytes);
        ReadOnlySpan<byte> png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        png.CopyTo(bytes);
        return bytes;
    }

    /// <summary>As many images as the call's <c>n</c> asks for (1 without n), each <see cref="ImageBytes"/>.</summary>
    public static FakeReply ImageN(FakeCall call)
    {
        var n = call.Json["n"]?.GetValue<int>() ?? 1;
        var prompt = call.Json["prompt"]?.GetValue<string>() ?? "";
        return FakeReply.Images(Enumerable.Range(1, n).Select(i => ImageBytes(prompt, i)));
    }

    /// <summary>The vector the fallback answers for <paramref name="text"/>: 8 floats derived from it.</summary>
    public static float[] Vector(string text) => [.. Enumerable.Range(0, 8).Select(i => (float)((text.Length + i * 7 + text.Sum(c => c)) % 1000) / 1000f - 0.5f)];

    /// <summary>One embedding per input (a string or a list of strings), each <see cref="Vector"/>.</summary>
    public static FakeReply EmbedEach(FakeCall call)
    {
        var inputs = call.Json["input"] switch
        {
            JsonArray list => list.Select(i => i!.GetValue<string>()).ToList(),
            JsonValue one => [one.GetValue<string>()],
            _ => [],
        };
        return FakeReply.Embeddings(call, [.. inputs.Select(Vector)]);
    }

    /// <summary>The default fallback: as many choices as the call's <c>n</c> asks for (1 without n).</summary>
    public static FakeReply EchoN(FakeCall call)
    {
        var n = call.Json["n"]?.GetValue<int>() ?? 1;
        return call.Json["stream"]?.GetValue<bool>() == true
            ? FakeReply.ChatStream([.. Enumerable.Range(1, n).Select(i => (IReadOnlyList<string>)["choice", $" {i}"])])
            : FakeReply.Choices(Enumerable.Range(1, n).Select(i => $"choice {i}"));
    }

    private readonly object _load = new();
    private int _inFlight;
    private double _busyMs;
    private long _lastChange;
    private long? _firstStart;
    private long _lastEnd;

    /// <summary>The most calls this server was answering at once.</summary>
    public int MaxInFlight { get; private set; }

    /// <summary>Calls in flight on average between the first call's start and the last one's end (how saturated the upstream was).</summary>
    public double AverageInFlight
    {
        get
        {
            lock (_load)
            {
                return _firstStart is { } first && _lastEnd > first ? _busyMs / (_lastEnd - first) : 0;
            }
        }
    }

    private void Load(int change)
    {
        lock (_load)
        {
            var now = Environment.TickCount64;
            _busyMs += _inFlight * (double)(now - _lastChange);
            _lastChange = now;
            _firstStart ??= now;
            _inFlight += change;
            MaxInFlight = Math.Max(MaxInFlight, _inFlight);
            if (change < 0)
            {
                _lastEnd = now;
            }
        }
    }

    private async Task Handle(HttpContext http)
    {
        Load(+1);
        try
        {
            await Answer(http);
        }
        finally
        {
            Load(-1);
        }
    }

    private async Task Answer(HttpContext http)
    {
        var receivedAt = DateTimeOffset.UtcNow;
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(http.RequestAborted);
        var headers = http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        FakeCall call;
        lock (_calls)
        {
            call = new FakeCall(_calls.Count + 1, receivedAt, http.Request.Method, http.Request.Path.Value ?? "", headers, body);
            _calls.Add(call);
        }
        var reply = _script.TryDequeue(out var scripted) ? scripted : Fallback(call);
        if (reply.Delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(reply.Delay, http.RequestAborted); // the scripted slowness of the upstream, not a wait
            }
            catch (OperationCanceledException)
            {
                _ends[call.Index] = new FakeCallEnd(false, DateTimeOffset.UtcNow);
                return; // The client hung up: nobody to answer.
            }
        }
        http.Response.StatusCode = reply.Status;
        foreach (var (name, value) in reply.Headers)
        {
            http.Response.Headers[name] = value;
        }
        if (reply.Chunks is { } chunks)
        {
            http.Response.ContentType = "text/event-stream";
            for (var i = 0; i < chunks.Count; i++)
            {
                try
                {
                    if (i == 0 && reply.BeforeFirstChunk is { } first)
                    {
                        await first.WaitAsync(http.RequestAborted); // the test's signal, not a timed wait
                    }
                    if (i == chunks.Count - 1 && reply.BeforeLastChunk is { } gate)
                    {
                        await gate.WaitAsync(http.RequestAborted); // the test's signal, not a timed wait
                    }
                    await http.Response.WriteAsync(chunks[i], http.RequestAborted);
                    await http.Response.Body.FlushAsync(http.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    _ends[call.Index] = new FakeCallEnd(false, DateTimeOffset.UtcNow);
                    return;
                }
            }
            _ends[call.Index] = new FakeCallEnd(true, DateTimeOffset.UtcNow);
            return;
        }
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(reply.Body, http.RequestAborted);
        _ends[call.Index] = new FakeCallEnd(true, DateTimeOffset.UtcNow);
    }

    public async ValueTask DisposeAsync()
    {
        // Bounded: a call still being delayed must not hold the test up.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
