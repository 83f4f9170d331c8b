namespace Switchboard.Tests.Handlers;

/// <summary>
/// <c>anthropic.messages</c> end to end against a fake Anthropic server on 127.0.0.1 that checks
/// the Messages API's wire format (path, <c>x-api-key</c>, <c>anthropic-version</c>, body).
/// </summary>
public sealed class AnthropicMessagesTests : AppTests
{
    private const long Credits = 100;
    private const long Price = 4;

    private FakeAnthropic _fake = null!;
    private UpstreamKey _key = null!;
    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        _key = UpstreamKey.Set(app, "ANTHROPIC", "sk-ant-test-");
        _fake = app.Own(await FakeAnthropic.StartAsync());
        await app.PushConfigAsync("svc_handlers", $"anthropic:\n  base_url: {_fake.BaseUrl}\n  api_key_env: {_key.Variable}\n");
        await app.ApplyCatalogAsync($$"""
            handlers:
              - {id: anthropic.messages, credits: 1, resource: anthropic}
            offers:
              - {service: claude, action: ask, handler: anthropic.messages, price: {{Price}}, prompt_template: "Q: {q}",
                 params: {model: claude-test, max_tokens: 256, system: "Be brief.", temperature: 0.3, stop_sequences: ["END"]} }
              - {service: claude, action: three, handler: anthropic.messages, price: {{Price}}, create_qty: 3, prompt_template: "Q: {q}",
                 params: {model: claude-test, max_tokens: 64} }
              - {service: claude, action: quick, handler: anthropic.messages, price: {{Price}}, prompt_template: "Q: {q}",
                 params: {model: claude-test, max_tokens: 64, timeout_s: 0.5} }
            """);
        _alice = await app.AddUserAsync("alice", Credits);
        return app;
    }

    private async Task<JsonObject> Run(string action, string q, double seconds = 10)
    {
        var id = await _alice.Client.SubmitAsync($"/svc/claude/{action}/", new { q });
        return await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(seconds));
    }

    private void AssertFailedAndRefunded(JsonObject done, string code, int attempts)
    {
        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Equal(code, done["error"]!["code"]!.GetValue<string>());
        Assert.Equal(attempts, done["attempts"]!.GetValue<int>());
        Assert.Equal(Credits, _alice.Balance);
        Ledger.AssertBalanced(App.Store);
    }

    [Fact]
    public async Task TheAnswersTextIsTheResultAndTheCallHasTheMessagesApisHeadersAndBody()
    {
        _fake.Enqueue(FakeAnthropic.Message("Forty", 21, 3, "-two."));

        var done = await Run("ask", "the answer?");

        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal(["Forty-two."], done["results"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal(21, done["usage"]!["input_tokens"]!.GetValue<long>());
        Assert.Equal(3, done["usage"]!["output_tokens"]!.GetValue<long>());
        Assert.Equal(Credits - Price, _alice.Balance);

        var call = Assert.Single(_fake.Calls);
        Assert.Equal("POST", call.Method);
        Assert.Equal("/v1/messages", call.Path);
        Assert.Equal(_key.Value, call.Header("x-api-key"));
        Assert.Equal(FakeAnthropic.Version, call.Header("anthropic-version"));
        Assert.Null(call.Header("Authorization"));
        Assert.StartsWith("application/json", call.Header("Content-Type"));
        var body = call.Json;
        Assert.Equal("claude-test", body["model"]!.GetValue<string>());
        Assert.Equal(256, body["max_tokens"]!.GetValue<int>());
        Assert.Equal("Be brief.", body["system"]!.GetValue<string>());
        Assert.Equal(0.3, body["temperature"]!.GetValue<double>());
        Assert.Equal(["END"], body["stop_sequences"]!.AsArray().Select(s => s!.GetValue<string>()));
        var message = Assert.Single(body["messages"]!.AsArray())!;
        Assert.Equal("user", message["role"]!.GetValue<string>());
        Assert.Equal("Q: the answer?", message["content"]!.GetValue<string>());
        Assert.Null(body["endpoint"]);
    }

    [Fact]
    public async Task ACreateQuantityOfThreeIsThreeCallsWithTheirUsageAddedUp()
    {
        var done = await Run("three", "colour");

        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal(3, done["results"]!.AsArray().Count);
        Assert.Equal(3, _fake.Calls.Count);
        Assert.Equal(3 * 12, done["usage"]!["input_tokens"]!.GetValue<long>());
        Assert.Equal(3 * 4, done["usage"]!["output_tokens"]!.GetValue<long>());
    }

    [Fact]
    public async Task RateLimitingIsRetriedNoSoonerThanRetryAfterSays()
    {
        _fake.Enqueue(FakeAnthropic.Error(429, "rate_limit_error", "slow down").WithHeader("retry-after", "1"));

        var done = await Run("ask", "now?");

        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal(2, done["attempts"]!.GetValue<int>());
        var calls = _fake.Calls;
        var gap = calls[1].ReceivedAt - calls[0].ReceivedAt;
        Assert.True(gap >= TimeSpan.FromMilliseconds(900), $"the retry came {gap.TotalMilliseconds:0} ms after the 429");
    }

    [Fact]
    public async Task AnOverloadedApiIsTransientAndTheSecondAttemptSucceeds()
    {
        _fake.Enqueue(FakeAnthropic.Error(529, "overloaded_error", "Overloaded"));

        var done = await Run("ask", "busy?");

        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal(2, done["attempts"]!.GetValue<int>());
    }

    [Fact]
    public async Task AnInvalidRequestFailsAtOnceWithItsErrorTypeButNotItsText()
    {
        _fake.Enqueue(FakeAnthropic.Error(400, "invalid_request_error", "max_tokens: too large for claude-test"));

        var done = await Run("ask", "huge?");

        AssertFailedAndRefunded(done, "upstream_rejected", 1);
        var message = done["error"]!["message"]!.GetValue<string>();
        Assert.Contains("invalid_request_error", message);
        Assert.DoesNotContain("too large", message);
    }

    [Fact]
    public async Task RejectedCredentialsFailAtOnceAndTheKeyNeverShows()
    {
        _fake.Fallback = _ => FakeAnthropic.Error(401, "authentication_error", $"invalid x-api-key {_key.Value}");

        var done = await Run("ask", "who?");

        AssertFailedAndRefunded(done, "upstream_auth_failed", 1);
        Assert.DoesNotContain(_key.Value, done.ToJsonString());
    }

    [Fact]
    public async Task ASlowApiTimesOutOnEveryAttemptThenFails()
    {
        _fake.Fallback = call => FakeAnthropic.Reply(call).After(TimeSpan.FromSeconds(5));

        var done = await Run("quick", "slow", seconds: 8);

        AssertFailedAndRefunded(done, "timeout", 3);
    }

    [Fact]
    public async Task AnAnswerWithoutContentIsATransientBadResponse()
    {
        _fake.Fallback = _ => FakeReply.Json(200, new JsonObject { ["type"] = "message" });

        var done = await Run("ask", "empty?");

        AssertFailedAndRefunded(done, "upstream_bad_response", 3);
    }
}
