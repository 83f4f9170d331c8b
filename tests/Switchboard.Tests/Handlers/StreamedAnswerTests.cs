using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Handlers;

namespace Switchboard.Tests.Handlers;

/// <summary>
/// <c>params.stream: true</c> of <c>openai.chat</c> and <c>anthropic.messages</c>, over real HTTP
/// against the fakes on 127.0.0.1 that stream chunk by chunk and hold their last piece until the
/// test lets it go: each handler run with a recording <see cref="IHandlerHost"/> (through the app's
/// guarded HTTP clients) sees the partial text in order before the upstream finished, and the
/// result is the whole text; errors mid-stream, cut streams and oversized streams fail as the
/// same answers do unstreamed; and end to end, a streamed offer's request succeeds with the whole text.
/// </summary>
public sealed class StreamedAnswerTests : AppTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private FakeOpenAi _openAi = null!;
    private FakeAnthropic _anthropic = null!;
    private UpstreamKey _openAiKey = null!;
    private UpstreamKey _anthropicKey = null!;
    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        _openAiKey = UpstreamKey.Set(app, "OPENAI");
        _anthropicKey = UpstreamKey.Set(app, "ANTHROPIC", "sk-ant-test-");
        _openAi = app.Own(await FakeOpenAi.StartAsync());
        _anthropic = app.Own(await FakeAnthropic.StartAsync());
        await app.PushConfigAsync("svc_handlers", $"""
            openai:
              base_url: {_openAi.BaseUrl}
              api_key_env: {_openAiKey.Variable}
            anthropic:
              base_url: {_anthropic.BaseUrl}
              api_key_env: {_anthropicKey.Variable}
            """);
        await app.ApplyCatalogAsync("""
            handlers:
              - {id: openai.chat, credits: 1}
              - {id: anthropic.messages, credits: 1}
            offers:
              - {service: chat, action: stream, handler: openai.chat, price: 2, prompt_template: "Tell {q}", params: {model: m, stream: true}}
              - {service: chat, action: three, handler: openai.chat, price: 2, create_qty: 3, prompt_template: "Tell {q}", params: {model: m, stream: true}}
              - {service: claude, action: stream, handler: anthropic.messages, price: 2, prompt_template: "Tell {q}", params: {model: c, max_tokens: 64, stream: true}}
            """);
        _alice = await app.AddUserAsync("alice", 100);
        return app;
    }

    /// <summary>Records what a handler reports, in order; a test awaits the partials one by one.</summary>
    private sealed class RecordingHost : IHandlerHost
    {
        private readonly Channel<string> _partials = Channel.CreateUnbounded<string>();

        public ConcurrentQueue<string> All { get; } = new();

        public Task<BinaryResult> ReadBinaryAsync(string requestId, string sha256, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public void ReportProgress(string requestId, double fraction, string? message) { }

        public void ReportPartial(string requestId, string text)
        {
            All.Enqueue(text);
            _partials.Writer.TryWrite(text);
        }

        public async Task<string> NextPartial()
        {
            using var timeout = new CancellationTokenSource(Patience);
            return await _partials.Reader.ReadAsync(timeout.Token);
        }
    }

    private IHttpClientFactory Clients => App.Server.Services.GetRequiredService<IHttpClientFactory>();

    private HandlerContext Context(string parameters, RecordingHost host, int quantity = 1, long maxBytes = HandlerContext.DefaultMaxUpstreamBytes, bool anthropic = false)
    {
        var settings = new JsonObject
        {
            ["base_url"] = anthropic ? _anthropic.BaseUrl : _openAi.BaseUrl,
            ["api_key"] = anthropic ? _anthropicKey.Value : _openAiKey.Value,
        };
        return new HandlerContext("0123456789abcdef0123456789abcdef", 1, "Tell a story", (JsonObject)JsonNode.Parse(parameters)!, quantity,
            NullLogger.Instance, settings, maxUpstreamBytes: maxBytes, host: host);
    }

    private async Task<JsonObject> RunEndToEnd(string path)
    {
        var id = await _alice.Client.SubmitAsync(path, new { q = "a story" });
        return await SwitchboardFactory.WaitForEnd(_alice.Client, id, Patience);
    }

    private static List<string> Results(HandlerContext context) => [.. context.Results.Select(r => r.GetValue<string>())];

    // --- openai.chat ---

    [Fact]
    public async Task OpenAiPartialsArriveInOrderBeforeTheLastChunkAndTheResultIsTheWholeText()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _openAi.Enqueue(FakeReply.ChatStream(["Once", " upon", " a", " time."], gate.Task));
        var host = new RecordingHost();
        var context = Context("""{"model": "m", "stream": true}""", host);

        var run = new OpenAiChatHandler(Clients).ExecuteAsync(context, CancellationToken.None);

        Assert.Equal("Once", await host.NextPartial());
        Assert.Equal(" upon", await host.NextPartial());
        Assert.Equal(" a", await host.NextPartial());
        // The upstream holds its last piece: the handler is still reading, nothing is a result yet.
        Assert.False(run.IsCompleted);
        Assert.Empty(context.Results);
        gate.SetResult();
        await run;

        Assert.Equal(["Once", " upon", " a", " time."], host.All);
        Assert.Equal(["Once upon a time."], Results(context));
        Assert.Equal(11, context.Usage["prompt_tokens"]!.GetValue<long>());
        Assert.Equal(7, context.Usage["completion_tokens"]!.GetValue<long>());
        Assert.Equal(18, context.Usage["total_tokens"]!.GetValue<long>());
        var body = Assert.Single(_openAi.Calls).Json;
        Assert.True(body["stream"]!.GetValue<bool>());
        Assert.True(body["stream_options"]!["include_usage"]!.GetValue<bool>());
    }

    [Fact]
    public async Task OpenAiWithoutAUsageChunkRecordsNoUsage()
    {
        _openAi.Enqueue(FakeReply.ChatStream([["a", "b"]], withUsage: false));
        var context = Context("""{"model": "m", "stream": true}""", new RecordingHost());

        await new OpenAiChatHandler(Clients).ExecuteAsync(context, CancellationToken.None);

        Assert.Equal(["ab"], Results(context));
        Assert.Empty(context.Usage);
    }

    [Fact]
    public async Task OpenAiStreamsTheFirstChoiceAndStoresEveryChoice()
    {
        _openAi.Enqueue(FakeReply.ChatStream([["red", " fox"], ["green", " frog"], ["blue", " jay"]]));
        var host = new RecordingHost();
        var context = Context("""{"model": "m", "stream": true}""", host, quantity: 3);

        await new OpenAiChatHandler(Clients).ExecuteAsync(context, CancellationToken.None);

        Assert.Equal(["red fox", "green frog", "blue jay"], Results(context));
        Assert.Equal(["red", " fox"], host.All);
        Assert.Equal(3, Assert.Single(_openAi.Calls).Json["n"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("server_error", "upstream_error", true)]
    [InlineData("rate_limit_exceeded", "upstream_rate_limited", true)]
    [InlineData("invalid_request_error", "upstream_rejected", false)]
    public async Task OpenAiAnErrorMidStreamIsClassifiedAsItsStatusAndThePartialTextIsNoResult(string type, string code, bool transient)
    {
        var error = FakeReply.Sse(new JsonObject { ["error"] = new JsonObject { ["message"] = "boom", ["type"] = type } }.ToJsonString());
        _openAi.Enqueue(FakeReply.ChatStream([["Once", " upon"]], tail: error));
        var host = new RecordingHost();
        var context = Context("""{"model": "m", "stream": true}""", host);

        var failure = await Assert.ThrowsAsync<HandlerException>(() => new OpenAiChatHandler(Clients).ExecuteAsync(context, CancellationToken.None));

        Assert.Equal((code, transient), (failure.Code, failure.Transient));
        Assert.Equal(["Once", " upon"], host.All);
        Assert.Empty(context.Results);
        Assert.Empty(context.Usage);
    }

    [Fact]
    public async Task OpenAiAStreamCutBeforeDoneIsATransientBadResponse()
    {
        _openAi.Enqueue(FakeReply.ChatStream([["Once", " upon"]], tail: ""));
        var context = Context("""{"model": "m", "stream": true}""", new RecordingHost());

        var failure = await Assert.ThrowsAsync<HandlerException>(() => new OpenAiChatHandler(Clients).ExecuteAsync(context, CancellationToken.None));

        Assert.Equal(("upstream_bad_response", true), (failure.Code, failure.Transient));
        Assert.Empty(context.Results);
    }

    [Fact]
    public async Task OpenAiAStreamOverTheCapFailsWithTheCapsError()
    {
        _openAi.Enqueue(FakeReply.ChatStream([.. Enumerable.Range(0, 200).Select(i => $"token {i} ")]));
        var context = Context("""{"model": "m", "stream": true}""", new RecordingHost(), maxBytes: 4096);

        var failure = await Assert.ThrowsAsync<HandlerException>(() => new OpenAiChatHandler(Clients).ExecuteAsync(context, CancellationToken.None));

        Assert.Equal((UpstreamBody.TooLargeCode, false), (failure.Code, failure.Transient));
        Assert.Empty(context.Results);
    }

    [Fact]
    public async Task OpenAiALineOverTheLineCapFailsWithTheCapsError()
    {
        // One event of more than a MiB, well within the answer's cap: the parser would hold it whole.
        _openAi.Enqueue(FakeReply.ChatStream([["a", new string('x', UpstreamEvents.MaxLineBytes + 10)]]));
        var context = Context("""{"model": "m", "stream": true}""", new RecordingHost());

        var failure = await Assert.ThrowsAsync<HandlerException>(() => new OpenAiChatHandler(Clients).ExecuteAsync(context, CancellationToken.None));

        Assert.Equal((UpstreamBody.TooLargeCode, false), (failure.Code, failure.Transient));
    }

    [Fact]
    public async Task OpenAiWithoutStreamAsksForAWholeAnswerAndReportsNothing()
    {
        _openAi.Enqueue(FakeReply.Choices("whole"));
        var host = new RecordingHost();
        var context = Context("""{"model": "m", "stream": false}""", host);

        await new OpenAiChatHandler(Clients).ExecuteAsync(context, CancellationToken.None);

        Assert.Equal(["whole"], Results(context));
        Assert.Empty(host.All);
        var body = Assert.Single(_openAi.Calls).Json;
        Assert.Null(body["stream"]);
        Assert.Null(body["stream_options"]);
    }

    [Fact]
    public async Task AServerThatIgnoresStreamIsReadAsAWholeAnswer()
    {
        _openAi.Enqueue(FakeReply.Choices("whole"));
        _anthropic.Enqueue(FakeAnthropic.Message("all at once"));
        var openAi = Context("""{"model": "m", "stream": true}""", new RecordingHost());
        var anthropic = Context("""{"model": "c", "max_tokens": 64, "stream": true}""", new RecordingHost(), anthropic: true);

        await new OpenAiChatHandler(Clients).ExecuteAsync(openAi, CancellationToken.None);
        await new AnthropicMessagesHandler(Clients).ExecuteAsync(anthropic, CancellationToken.None);

        Assert.Equal(["whole"], Results(openAi));
        Assert.Equal(["all at once"], Results(anthropic));
    }

    [Theory]
    [InlineData("\"yes\"")]
    [InlineData("1")]
    [InlineData("{}")]
    public void StreamMustBeABooleanForBothHandlers(string value)
    {
        var openAi = new OpenAiChatHandler(Clients).CheckParams((JsonObject)JsonNode.Parse($$"""{"model": "m", "stream": {{value}}}""")!);
        Assert.Contains(openAi, p => p.Key == "stream");
        var anthropic = AnthropicParams.Check((JsonObject)JsonNode.Parse($$"""{"model": "c", "max_tokens": 5, "stream": {{value}}}""")!);
        Assert.Contains(anthropic, p => p.Key == "stream");
        Assert.Empty(new OpenAiChatHandler(Clients).CheckParams((JsonObject)JsonNode.Parse("""{"model": "m", "stream": true}""")!));
        Assert.Empty(AnthropicParams.Check((JsonObject)JsonNode.Parse("""{"model": "c", "max_tokens": 5, "stream": false}""")!));
    }

    // --- anthropic.messages ---

    [Fact]
    public async Task AnthropicPartialsArriveInOrderBeforeTheLastChunkAndTheResultIsTheWholeText()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _anthropic.Enqueue(FakeAnthropic.Stream(["Far", " far", " away."], gate.Task, inputTokens: 30, outputTokens: 9));
        var host = new RecordingHost();
        var context = Context("""{"model": "c", "max_tokens": 64, "stream": true}""", host, anthropic: true);

        var run = new AnthropicMessagesHandler(Clients).ExecuteAsync(context, CancellationToken.None);

        Assert.Equal("Far", await host.NextPartial());
        Assert.Equal(" far", await host.NextPartial());
        Assert.False(run.IsCompleted);
        Assert.Empty(context.Results);
        gate.SetResult();
        await run;

        Assert.Equal(["Far", " far", " away."], host.All);
        Assert.Equal(["Far far away."], Results(context));
        Assert.Equal(30, context.Usage["input_tokens"]!.GetValue<long>());
        Assert.Equal(9, context.Usage["output_tokens"]!.GetValue<long>());
        Assert.True(Assert.Single(_anthropic.Calls).Json["stream"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("overloaded_error", "upstream_error", true)]
    [InlineData("rate_limit_error", "upstream_rate_limited", true)]
    [InlineData("invalid_request_error", "upstream_rejected", false)]
    public async Task AnthropicAnErrorEventIsClassifiedAsItsStatusAndThePartialTextIsNoResult(string type, string code, bool transient)
    {
        var error = FakeAnthropic.Event("error", new JsonObject { ["type"] = "error", ["error"] = new JsonObject { ["type"] = type, ["message"] = "boom" } });
        _anthropic.Enqueue(FakeAnthropic.Stream(["Far", " far"], tail: error));
        var host = new RecordingHost();
        var context = Context("""{"model": "c", "max_tokens": 64, "stream": true}""", host, anthropic: true);

        var failure = await Assert.ThrowsAsync<HandlerException>(() => new AnthropicMessagesHandler(Clients).ExecuteAsync(context, CancellationToken.None));

        Assert.Equal((code, transient), (failure.Code, failure.Transient));
        Assert.Equal(["Far", " far"], host.All);
        Assert.Empty(context.Results);
        Assert.Empty(context.Usage);
    }

    [Fact]
    public async Task AnthropicAStreamCutBeforeMessageStopIsATransientBadResponse()
    {
        _anthropic.Enqueue(FakeAnthropic.Stream(["Far"], tail: ""));
        var context = Context("""{"model": "c", "max_tokens": 64, "stream": true}""", new RecordingHost(), anthropic: true);

        var failure = await Assert.ThrowsAsync<HandlerException>(() => new AnthropicMessagesHandler(Clients).ExecuteAsync(context, CancellationToken.None));

        Assert.Equal(("upstream_bad_response", true), (failure.Code, failure.Transient));
        Assert.Empty(context.Results);
    }

    [Fact]
    public async Task AnthropicAStreamOverTheCapFailsWithTheCapsError()
    {
        _anthropic.Enqueue(FakeAnthropic.Stream([.. Enumerable.Range(0, 200).Select(i => $"token {i} ")]));
        var context = Context("""{"model": "c", "max_tokens": 64, "stream": true}""", new RecordingHost(), maxBytes: 4096, anthropic: true);

        var failure = await Assert.ThrowsAsync<HandlerException>(() => new AnthropicMessagesHandler(Clients).ExecuteAsync(context, CancellationToken.None));

        Assert.Equal((UpstreamBody.TooLargeCode, false), (failure.Code, failure.Transient));
    }

    // --- end to end ---

    [Fact]
    public async Task AStreamedOffersRequestSucceedsWithTheWholeTextAndItsUsage()
    {
        var chat = await RunEndToEnd("/svc/chat/stream/");
        Assert.Equal("succeeded", chat["status"]!.GetValue<string>());
        Assert.Equal(["choice 1"], chat["results"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal(18, chat["usage"]!["total_tokens"]!.GetValue<long>());

        var three = await RunEndToEnd("/svc/chat/three/");
        Assert.Equal(["choice 1", "choice 2", "choice 3"], three["results"]!.AsArray().Select(r => r!.GetValue<string>()));

        var claude = await RunEndToEnd("/svc/claude/stream/");
        Assert.Equal("succeeded", claude["status"]!.GetValue<string>());
        Assert.Equal(["re: Tell a story"], claude["results"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal(12, claude["usage"]!["input_tokens"]!.GetValue<long>());
        Assert.Equal(4, claude["usage"]!["output_tokens"]!.GetValue<long>());
        Assert.All(_openAi.Calls.Concat(_anthropic.Calls), c => Assert.True(c.Json["stream"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task StreamedTokensReachAnEventStreamClientBeforeTheRequestEnds()
    {
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _openAi.Enqueue(FakeReply.ChatStream(["Once", " upon", " a", " time."], gate.Task) with { BeforeFirstChunk = first.Task });
        var response = await _alice.Client.PostAsJsonAsync("/svc/chat/stream/", new { q = "a story" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = accepted["id"]!.GetValue<string>();
        // A browser's view: the stream_url alone, no key.
        var browser = App.CreateClient();
        var partials = Channel.CreateUnbounded<string>();
        var reading = EventStreams.ReadAll(browser, accepted["stream_url"]!.GetValue<string>(), timeout: Patience,
            onEvent: e =>
            {
                if (e.EventType == "partial")
                {
                    partials.Writer.TryWrite(e.Data);
                }
                // The first status says the stream follows the request: the upstream may start.
                first.TrySetResult();
            });

        var seen = new List<string>();
        using (var wait = new CancellationTokenSource(Patience))
        {
            while (string.Concat(seen) != "Once upon a")
            {
                seen.Add(await partials.Reader.ReadAsync(wait.Token));
            }
        }
        // The upstream still holds its last piece: the client has the first three while the request runs.
        var running = await _alice.Client.GetFromJsonAsync<JsonObject>($"/svc/request/{id}/");
        Assert.Equal("running", running!["status"]!.GetValue<string>());
        Assert.False(reading.IsCompleted);
        gate.SetResult();

        var answer = await reading;
        Assert.Equal(["result", "end"], answer.Types().Where(t => t is "result" or "end"));
        Assert.Equal("Once upon a time.", string.Concat(answer.OfType("partial").Select(p => p.Data)));
        Assert.Contains("Once upon a time.", answer.OfType("result").Single().Data);
    }
}
