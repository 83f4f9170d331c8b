namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// An Anthropic Messages API server on a real Kestrel socket (127.0.0.1), for
/// <c>anthropic.messages</c> tests: the same recording and scripting as <see cref="FakeOpenAi"/>
/// (whose server it runs), answering <c>POST /v1/messages</c> by default with one text block that
/// repeats the user's turn, and Anthropic's error shape for the rest.
/// </summary>
public sealed class FakeAnthropic : IAsyncDisposable
{
    public const string Version = "2023-06-01";

    private readonly FakeOpenAi _server;

    private FakeAnthropic(FakeOpenAi server)
    {
        _server = server;
        _server.Fallback = Reply;
    }

    public static async Task<FakeAnthropic> StartAsync() => new(await FakeOpenAi.StartAsync());

    /// <summary>What a profile's <c>base_url</c> should be: the host, as the API's (the handler adds <c>/v1/messages</c>).</summary>
    public string BaseUrl => _server.Address;

    public IReadOnlyList<FakeCall> Calls => _server.Calls;

    /// <summary>Answers a call when no scripted reply is queued (default: <see cref="Reply"/>).</summary>
    public Func<FakeCall, FakeReply> Fallback { get => _server.Fallback; set => _server.Fallback = value; }

    public void Enqueue(params FakeReply[] replies) => _server.Enqueue(replies);

    /// <summary>
    /// The default answer: a 404 off <c>/v1/messages</c>, a 401 without <c>x-api-key</c>, a 400
    /// without <c>anthropic-version</c> (as the API does), else <see cref="Message"/> of the user's turn.
    /// </summary>
    public static FakeReply Reply(FakeCall call)
    {
        if (call.Path != "/v1/messages" || call.Method != "POST")
        {
            return Error(404, "not_found_error", $"no route {call.Method} {call.Path}");
        }
        if (string.IsNullOrEmpty(call.Header("x-api-key")))
        {
            return Error(401, "authentication_error", "x-api-key header is required");
        }
        if (call.Header("anthropic-version") is null)
        {
            return Error(400, "invalid_request_error", "anthropic-version header is required");
        }
        var turn = call.Json["messages"]![0]!["content"]!.GetValue<string>();
        return call.Json["stream"]?.GetValue<bool>() == true ? Stream(["re: ", turn]) : Message($"re: {turn}");
    }

    /// <summary>
    /// A streamed message (<c>stream: true</c>) of one text block made of <paramref name="deltas"/>:
    /// message_start (with the input tokens), content_block_start, ping, one content_block_delta per
    /// delta, content_block_stop, message_delta (the output tokens), message_stop. The last delta
    /// and everything after it are one piece, the one <paramref name="beforeLast"/> holds back;
    /// <paramref name="tail"/> replaces what follows the last delta (an error event, or nothing: a cut stream).
    /// </summary>
    public static FakeReply Stream(IReadOnlyList<string> deltas, Task? beforeLast = null, int inputTokens = 12, int outputTokens = 4, string? tail = null)
    {
        var pieces = new List<string>
        {
            Event("message_start", new JsonObject
            {
                ["type"] = "message_start",
                ["message"] = new JsonObject
                {
                    ["id"] = "msg_fake", ["type"] = "message", ["role"] = "assistant", ["model"] = "claude-test", ["content"] = new JsonArray(),
                    ["usage"] = new JsonObject { ["input_tokens"] = inputTokens, ["output_tokens"] = 1 },
                },
            })
            + Event("content_block_start", new JsonObject { ["type"] = "content_block_start", ["index"] = 0, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" } })
            + Event("ping", new JsonObject { ["type"] = "ping" }),
        };
        pieces.AddRange(deltas.Select(d => Event("content_block_delta", new JsonObject
        {
            ["type"] = "content_block_delta", ["index"] = 0, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = d },
        })));
        pieces[^1] += tail
            ?? Event("content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = 0 })
            + Event("message_delta", new JsonObject
            {
                ["type"] = "message_delta", ["delta"] = new JsonObject { ["stop_reason"] = "end_turn" }, ["usage"] = new JsonObject { ["output_tokens"] = outputTokens },
            })
            + Event("message_stop", new JsonObject { ["type"] = "message_stop" });
        return FakeReply.Stream(pieces, beforeLast);
    }

    /// <summary>One event of the Messages API's stream.</summary>
    public static string Event(string name, JsonObject data) => FakeReply.Sse(data.ToJsonString(), name);

    /// <summary>A 200 message with one text block per text, and its usage.</summary>
    public static FakeReply Message(string text, int inputTokens = 12, int outputTokens = 4, params string[] more) =>
        FakeReply.Json(200, new JsonObject
        {
            ["id"] = "msg_fake",
            ["type"] = "message",
            ["role"] = "assistant",
            ["model"] = "claude-test",
            ["content"] = new JsonArray([.. new[] { text }.Concat(more).Select(t => (JsonNode)new JsonObject { ["type"] = "text", ["text"] = t })]),
            ["stop_reason"] = "end_turn",
            ["usage"] = new JsonObject { ["input_tokens"] = inputTokens, ["output_tokens"] = outputTokens },
        });

    /// <summary>Anthropic's error shape: <c>{"type": "error", "error": {"type": ..., "message": ...}}</c>.</summary>
    public static FakeReply Error(int status, string type, string message) =>
        FakeReply.Json(status, new JsonObject { ["type"] = "error", ["error"] = new JsonObject { ["type"] = type, ["message"] = message } });

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
