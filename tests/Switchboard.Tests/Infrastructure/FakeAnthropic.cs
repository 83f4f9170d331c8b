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
        return Message($"re: {turn}");
    }

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
