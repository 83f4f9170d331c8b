using System.Net.Http.Headers;
using System.Net.Sockets;
using Switchboard.Handlers;
using Switchboard.Outbound;

using static Switchboard.Tests.Infrastructure.RequestAsserts;

namespace Switchboard.Tests.Handlers;

/// <summary>
/// <c>openai.chat</c> end to end: the real API and executor, over real HTTP, against a fake
/// OpenAI-compatible server on 127.0.0.1.
/// </summary>
public sealed class OpenAiChatTests : AppTests
{
    private const long Credits = 100;
    private const long Price = 10;

    private readonly string _unsetVariable = $"SWITCHBOARD_TEST_OPENAI_UNSET_{TestNames.Short()}";
    private FakeOpenAi _fake = null!;
    private UpstreamKey _key = null!;
    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        _key = UpstreamKey.Set(app, "OPENAI");
        _fake = app.Own(await FakeOpenAi.StartAsync());
        // URLs and key variables are the operator's (svc_handlers endpoint profiles); offers only pick a profile.
        await app.PushConfigAsync("svc_handlers", $$"""
            openai:
              base_url: {{_fake.BaseUrl}}
              api_key_env: {{_key.Variable}}
              endpoints:
                keyless: {base_url: "{{_fake.BaseUrl}}", api_key_env: {{_unsetVariable}}}
                nowhere: {base_url: "http://127.0.0.1:{{ClosedPort()}}/v1", api_key_env: {{_key.Variable}}}
            """);
        var common = "model: test-model";
        var keyless = "endpoint: keyless, model: test-model";
        var nowhere = "endpoint: nowhere, model: test-model";
        await app.ApplyCatalogAsync($$"""
            handlers:
              - {id: openai.chat, credits: 1, resource: openai}
            offers:
              - service: chat
                action: ask
                handler: openai.chat
                price: {{Price}}
                prompt_template: "Answer briefly: {question}"
                params: {{{common}}, system: "You are terse.", temperature: 0.7, top_p: 0.9, max_tokens: 50, seed: 42, stop: ["END"], presence_penalty: 0.5}
              - service: chat
                action: three
                handler: openai.chat
                price: {{Price}}
                create_qty: 3
                prompt_template: "Name a {thing}"
                params: {{{common}}}
              - service: chat
                action: quick
                handler: openai.chat
                price: {{Price}}
                prompt_template: "Quickly {thing}"
                params: {{{common}}, timeout_s: 0.5}
              - service: chat
                action: nokey
                handler: openai.chat
                price: {{Price}}
                prompt_template: "Keyless {thing}"
                params: {{{keyless}}}
              - service: chat
                action: nowhere
                handler: openai.chat
                price: {{Price}}
                prompt_template: "Unreachable {thing}"
                params: {{{nowhere}}}
            """);
        _alice = await app.AddUserAsync("alice", Credits);
        return app;
    }

    /// <summary>A port nothing listens on: bound once by the OS, then released.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private async Task<string> Submit(string action, object inputs)
    {
        return await _alice.Client.SubmitAsync($"/svc/chat/{action}/", inputs);
    }

    /// <summary>
    /// Polls (bounded) until the request is queued again after a failed attempt, and returns that state.
    /// Only for waits the test makes long (a Retry-After): the factory's own retry delays are milliseconds.
    /// </summary>
    private Task<JsonObject> WaitForRetry(string id, TimeSpan timeout) => _alice.Client.WaitForRequest(id, request =>
    {
        var status = Status(request);
        // An end before the retry fails at once (the condition throws), not at the deadline.
        Assert.True(status is "queued" or "running", $"request {id} ended before it was retried: {request.ToJsonString()}");
        return status == "queued" && request["error"] is not null;
    }, timeout);

    private static string Status(JsonObject request) => request["status"]!.GetValue<string>();

    private static string? ErrorCode(JsonObject request) => request["error"]?["code"]?.GetValue<string>();

    private static List<string> Results(JsonObject request) => [.. request["results"]!.AsArray().Select(r => r!.GetValue<string>())];

    /// <summary>The request ended failed with <paramref name="code"/> after <paramref name="attempts"/> attempts.</summary>
    private void AssertRefunded(string id) => RequestAsserts.AssertRefunded(App, _alice, Credits, id);

    [Fact]
    public async Task ASuccessfulCallReturnsTheChoicesAndSendsModelPromptParamsAndKey()
    {
        _fake.Enqueue(FakeReply.Choices(["Forty-two."], new JsonObject { ["prompt_tokens"] = 21, ["completion_tokens"] = 3, ["total_tokens"] = 24 }));

        var id = await Submit("ask", new { question = "what is the answer?" });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(10));

        Assert.Equal("succeeded", Status(done));
        Assert.Equal(["Forty-two."], Results(done));
        Assert.Equal(1, done["attempts"]!.GetValue<int>());
        Assert.Equal(21, done["usage"]!["prompt_tokens"]!.GetValue<long>());
        Assert.Equal(3, done["usage"]!["completion_tokens"]!.GetValue<long>());
        Assert.Equal(24, done["usage"]!["total_tokens"]!.GetValue<long>());
        Assert.Equal(Credits - Price, _alice.Balance);

        var call = Assert.Single(_fake.Calls);
        Assert.Equal("POST", call.Method);
        Assert.Equal("/v1/chat/completions", call.Path);
        Assert.Equal($"Bearer {_key.Value}", call.Header("Authorization"));
        Assert.StartsWith("application/json", call.Header("Content-Type"));
        var body = call.Json;
        Assert.Equal("test-model", body["model"]!.GetValue<string>());
        Assert.Equal(1, body["n"]!.GetValue<int>());
        var messages = body["messages"]!.AsArray();
        Assert.Equal(2, messages.Count);
        Assert.Equal("system", messages[0]!["role"]!.GetValue<string>());
        Assert.Equal("You are terse.", messages[0]!["content"]!.GetValue<string>());
        Assert.Equal("user", messages[1]!["role"]!.GetValue<string>());
        Assert.Equal("Answer briefly: what is the answer?", messages[1]!["content"]!.GetValue<string>());
        Assert.Equal(0.7, body["temperature"]!.GetValue<double>());
        Assert.Equal(0.9, body["top_p"]!.GetValue<double>());
        Assert.Equal(50, body["max_tokens"]!.GetValue<int>());
        Assert.Equal(42, body["seed"]!.GetValue<int>());
        Assert.Equal(0.5, body["presence_penalty"]!.GetValue<double>());
        Assert.Equal(["END"], body["stop"]!.AsArray().Select(s => s!.GetValue<string>()));
        // Switchboard's own params are not the upstream's business.
        Assert.Null(body["endpoint"]);
        Assert.Null(body["system"]);
        Assert.Null(body["timeout_s"]);
    }

    [Fact]
    public async Task ACreateQuantityOfThreeAsksForThreeChoicesInOneCall()
    {
        _fake.Enqueue(FakeReply.Choices("red", "green", "blue"));

        var id = await Submit("three", new { thing = "colour" });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(10));

        Assert.Equal("succeeded", Status(done));
        Assert.Equal(["red", "green", "blue"], Results(done));
        var call = Assert.Single(_fake.Calls);
        Assert.Equal(3, call.Json["n"]!.GetValue<int>());
        Assert.Equal("Name a colour", call.Json["messages"]![0]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task AServerThatIgnoresNIsAskedAgainForTheRemainingChoices()
    {
        var replies = 0;
        _fake.Fallback = _ => FakeReply.Choices($"only one #{Interlocked.Increment(ref replies)}");

        var id = await Submit("three", new { thing = "fruit" });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(10));

        Assert.Equal("succeeded", Status(done));
        Assert.Equal(1, done["attempts"]!.GetValue<int>());
        Assert.Equal(["only one #1", "only one #2", "only one #3"], Results(done));
        Assert.Equal([3, 2, 1], _fake.Calls.Select(c => c.Json["n"]!.GetValue<int>()));
        // Usage adds up over the calls.
        Assert.Equal(3 * 18, done["usage"]!["total_tokens"]!.GetValue<long>());
    }

    [Fact]
    public async Task RateLimitingIsRetriedNoSoonerThanRetryAfterSays()
    {
        _fake.Enqueue(FakeReply.Error(429, "slow down").WithHeader("Retry-After", "1"), FakeReply.Choices("finally"));

        var id = await Submit("ask", new { question = "now?" });
        var waiting = await WaitForRetry(id, TimeSpan.FromSeconds(5));
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(10));

        // Transient: queued again with the reason, not failed.
        Assert.Equal("upstream_rate_limited", ErrorCode(waiting));
        Assert.Equal(1, waiting["attempts"]!.GetValue<int>());
        Assert.Equal("succeeded", Status(done));
        Assert.Equal(2, done["attempts"]!.GetValue<int>());
        Assert.Null(done["error"]);
        Assert.Equal(["finally"], Results(done));
        var calls = _fake.Calls;
        Assert.Equal(2, calls.Count);
        var gap = calls[1].ReceivedAt - calls[0].ReceivedAt;
        Assert.True(gap >= TimeSpan.FromMilliseconds(900), $"the retry came {gap.TotalMilliseconds:0} ms after the 429, before its Retry-After of 1 s");
        Assert.Equal(Credits - Price, _alice.Balance);
    }

    [Fact]
    public async Task AServerErrorIsRetriedAndTheSecondAttemptSucceeds()
    {
        _fake.Enqueue(FakeReply.Error(500, "oops"), FakeReply.Choices("recovered"));

        var id = await Submit("ask", new { question = "again?" });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(10));

        Assert.Equal("succeeded", Status(done));
        Assert.Equal(2, done["attempts"]!.GetValue<int>());
        Assert.Equal(["recovered"], Results(done));
        Assert.Equal(2, _fake.Calls.Count);
        Assert.Equal(Credits - Price, _alice.Balance);
    }

    [Fact]
    public async Task AServerErrorWhoseErrorIsAPlainStringIsStillTransient()
    {
        // Not every OpenAI-compatible server wraps its error in an object.
        _fake.Fallback = _ => FakeReply.Json(503, new JsonObject { ["error"] = "model is loading" });

        var id = await Submit("ask", new { question = "ready?" });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(10));

        AssertFailed(done, "upstream_error", 3);
        Assert.Equal(3, _fake.Calls.Count);
        AssertRefunded(id);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"ok\"")]
    [InlineData("{\"choices\": [\"not a choice\"]}")]
    [InlineData("{\"choices\": [{\"message\": \"not a message\"}]}")]
    [InlineData("<html>gateway</html>")]
    public async Task ASuccessStatusWithoutAChatCompletionIsATransientBadResponse(string body)
    {
        _fake.Fallback = _ => FakeReply.Text(200, body);

        var id = await Submit("ask", new { question = "well-formed?" });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(10));

        AssertFailed(done, "upstream_bad_response", 3);
        AssertRefunded(id);
    }

    [Fact]
    public async Task ABadRequestWhoseErrorIsAPlainStringFailsWithItsStatusButNotItsText()
    {
        _fake.Enqueue(FakeReply.Json(400, new JsonObject { ["error"] = "unknown model" }));

        var id = await Submit("ask", new { question = "which model?" });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(10));

        AssertFailed(done, "upstream_rejected", 1);
        // Upstream text is never echoed to the client (it may repeat what it was sent); the status is.
        Assert.Contains("400", done["error"]!["message"]!.GetValue<string>());
        Assert.DoesNotContain("unknown model", done["error"]!["message"]!.GetValue<string>());
        AssertRefunded(id);
    }

    [Fact]
    public async Task ABadRequestFailsAtOnceWithTheStatusAndErrorTypeTokenAndRefunds()
    {
        _fake.Enqueue(FakeReply.Error(400, "bad things"));

        var id = await Submit("ask", new { question = "invalid?" });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(10));

        AssertFailed(done, "upstream_rejected", 1);
        Assert.Contains("400", done["error"]!["message"]!.GetValue<string>());
        Assert.Contains("fake_error", done["error"]!["message"]!.GetValue<string>());
        Assert.DoesNotContain("bad things", done["error"]!["message"]!.GetValue<string>());
        Assert.Empty(Results(done));
        Assert.Single(_fake.Calls);
        AssertRefunded(id);
    }

    [Fact]
    public async Task RejectedCredentialsFailAtOnceAndRefund()
    {
        _fake.Fallback = _ => FakeReply.Error(401, "Incorrect API key provided");

        var id = await Submit("ask", new { question = "who am I?" });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(10));

        AssertFailed(done, "upstream_auth_failed", 1);
        // The key itself never shows.
        Assert.DoesNotContain(_key.Value, done.ToJsonString());
        Assert.Single(_fake.Calls);
        AssertRefunded(id);
    }

    [Fact]
    public async Task AnUpstreamThatNeverAnswersTimesOutOnEveryAttemptThenFailsAndRefunds()
    {
        _fake.Fallback = _ => FakeReply.Choices("too late").After(TimeSpan.FromSeconds(5));

        var id = await Submit("quick", new { thing = "hurry" });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(8));

        AssertFailed(done, "timeout", 3);
        Assert.Equal(3, _fake.Calls.Count);
        AssertRefunded(id);
    }

    [Fact]
    public async Task AKeyVariableThatIsNotSetMakesTheOfferNotLiveBeforeAnyCharge()
    {
        // Issue 16: in serve the api knows its own executor lacks the variable, so the offer is
        // refused at submit (it used to be accepted, charged, then failed and refunded).
        var response = await _alice.Client.PostAsJsonAsync("/svc/chat/nokey/", new { thing = "x" });
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("handler_misconfigured", problem["code"]!.GetValue<string>());
        // The client is told the credential is missing, never which variable holds it.
        Assert.DoesNotContain(_unsetVariable, problem.ToJsonString());
        Assert.Contains("credential", problem["detail"]!.GetValue<string>());
        Assert.Empty(_fake.Calls);
        Assert.Equal(Credits, _alice.Balance);
        Assert.Equal(0, Ledger.RequestCount(App.Store));
    }

    [Fact]
    public async Task AnUnreachableUpstreamIsRetriedThenFailsAndRefunds()
    {
        var id = await Submit("nowhere", new { thing = "x" });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(10));

        // Transient: it took every attempt before failing.
        AssertFailed(done, "upstream_unreachable", 3);
        AssertRefunded(id);
    }
}

/// <summary>The Retry-After forms an upstream may send, read without a server.</summary>
public sealed class OpenAiChatRetryAfterTests
{
    private static HttpResponseMessage Response(params (string Name, string Value)[] headers)
    {
        var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        foreach (var (name, value) in headers)
        {
            Assert.True(response.Headers.TryAddWithoutValidation(name, value), $"header {name}: {value}");
        }
        return response;
    }

    [Fact]
    public void NoHeaderMeansNoFloor()
    {
        using var response = Response();

        Assert.Null(UpstreamErrors.RetryAfter(response));
    }

    [Fact]
    public void RetryAfterInSecondsIsADelta()
    {
        using var response = Response(("Retry-After", "7"));

        Assert.Equal(TimeSpan.FromSeconds(7), UpstreamErrors.RetryAfter(response));
    }

    [Fact]
    public void RetryAfterAsAnHttpDateIsTheTimeUntilThen()
    {
        using var response = Response(("Retry-After", DateTimeOffset.UtcNow.AddSeconds(30).ToString("R")));

        var wait = UpstreamErrors.RetryAfter(response);

        // HTTP dates have whole seconds.
        Assert.NotNull(wait);
        Assert.InRange(wait.Value, TimeSpan.FromSeconds(28), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void RetryAfterAsADateInThePastMeansNow()
    {
        using var response = Response(("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"));

        Assert.Equal(TimeSpan.Zero, UpstreamErrors.RetryAfter(response));
    }

    [Fact]
    public void RetryAfterMsIsMillisecondsAndWinsOverRetryAfter()
    {
        using var response = Response(("retry-after-ms", "1500"), ("Retry-After", "2"));

        Assert.Equal(TimeSpan.FromMilliseconds(1500), UpstreamErrors.RetryAfter(response));
    }

    [Fact]
    public void FractionalRetryAfterMsIsAccepted()
    {
        using var response = Response(("retry-after-ms", "250.5"));

        Assert.Equal(TimeSpan.FromMilliseconds(250.5), UpstreamErrors.RetryAfter(response));
    }

    [Fact]
    public void AnUnreadableRetryAfterMsFallsBackToRetryAfter()
    {
        using var response = Response(("retry-after-ms", "soon"), ("Retry-After", "3"));

        Assert.Equal(TimeSpan.FromSeconds(3), UpstreamErrors.RetryAfter(response));
    }

    [Theory]
    [InlineData("Infinity")]
    [InlineData("1e300")]
    [InlineData("NaN")]
    [InlineData("-5")]
    public void AnOutOfRangeRetryAfterMsIsIgnored(string millis)
    {
        using var response = Response(("retry-after-ms", millis), ("Retry-After", "4"));

        Assert.Equal(TimeSpan.FromSeconds(4), UpstreamErrors.RetryAfter(response));
    }

    [Fact]
    public void AnUnreadableRetryAfterIsNoFloor()
    {
        using var response = Response(("Retry-After", "in a while"));

        Assert.Null(UpstreamErrors.RetryAfter(response));
    }

    [Fact]
    public void ASetHeaderValueIsReadLikeARawOne()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(12));

        Assert.Equal(TimeSpan.FromSeconds(12), UpstreamErrors.RetryAfter(response));
    }
}
