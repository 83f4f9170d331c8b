using System.Security.Cryptography;

namespace Switchboard.Tests.Handlers;

/// <summary>
/// <c>openai.image</c> end to end: the real API and executor, the official OpenAI SDK over real
/// HTTP, against a fake OpenAI server on 127.0.0.1 that records what the SDK sends.
/// </summary>
public sealed class OpenAiImageTests : AppTests
{
    private const long Credits = 100;
    private const long Price = 10;
    private const int MaxUpstreamBytes = 64 * 1024;

    private FakeOpenAi _fake = null!;
    private UpstreamKey _key = null!;
    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        _key = UpstreamKey.Set(app, "OPENAI");
        _fake = app.Own(await FakeOpenAi.StartAsync());
        await app.PushConfigAsync("svc_handlers", $$"""
            openai:
              base_url: {{_fake.BaseUrl}}
              api_key_env: {{_key.Variable}}
              endpoints:
                local: {base_url: "{{_fake.BaseUrl}}"}
            """);
        await app.PushConfigAsync("api", $"max_upstream_bytes: {MaxUpstreamBytes}\n");
        await app.ApplyCatalogAsync($$"""
            handlers:
              - {id: openai.image, credits: 1, resource: openai}
            offers:
              - {service: image, action: draw, handler: openai.image, price: {{Price}}, create_qty: 2, prompt_template: "A {thing}",
                 params: {model: dall-e-3, size: 1024x1024, quality: hd, style: vivid} }
              - {service: image, action: gpt, handler: openai.image, price: {{Price}}, prompt_template: "A {thing}",
                 params: {model: gpt-image-1, output_format: jpeg, background: opaque} }
              - {service: image, action: local, handler: openai.image, price: {{Price}}, prompt_template: "A {thing}",
                 params: {model: dall-e-2, endpoint: local} }
              - {service: image, action: quick, handler: openai.image, price: {{Price}}, prompt_template: "A {thing}",
                 params: {model: dall-e-2, timeout_s: 0.5} }
            """);
        _alice = await app.AddUserAsync("alice", Credits);
        return app;
    }

    private async Task<JsonObject> Run(string action, string thing, double seconds = 10)
    {
        var id = await _alice.Client.SubmitAsync($"/svc/image/{action}/", new { thing });
        return await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(seconds));
    }

    private static string Status(JsonObject request) => request["status"]!.GetValue<string>();

    private static string? ErrorCode(JsonObject request) => request["error"]?["code"]?.GetValue<string>();

    private void AssertFailedAndRefunded(JsonObject done, string code, int attempts)
    {
        Assert.Equal("failed", Status(done));
        Assert.Equal(code, ErrorCode(done));
        Assert.Equal(attempts, done["attempts"]!.GetValue<int>());
        Assert.Equal(Credits, _alice.Balance);
        Assert.Equal(1, Ledger.Count(App.Store, "refund", done["id"]!.GetValue<string>()));
        Ledger.AssertBalanced(App.Store);
    }

    /// <summary>The binary reference a result must be for <paramref name="sent"/>: its media type, size and hash.</summary>
    private static void AssertReferenceTo(JsonNode? result, byte[] sent, string mediaType)
    {
        var reference = Assert.IsType<JsonObject>(result);
        Assert.Equal("binary", reference["type"]!.GetValue<string>());
        Assert.Equal(mediaType, reference["media_type"]!.GetValue<string>());
        Assert.Equal(sent.Length, reference["bytes"]!.GetValue<long>());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(sent)), reference["sha256"]!.GetValue<string>());
    }

    [Fact]
    public async Task ImagesComeBackAsBinaryResultsOfTheBytesTheUpstreamSentAndTheSdkSendsTheApisWireFormat()
    {
        var done = await Run("draw", "lighthouse");

        Assert.Equal("succeeded", Status(done));
        var results = done["results"]!.AsArray();
        Assert.Equal(2, results.Count);
        AssertReferenceTo(results[0], FakeOpenAi.ImageBytes("A lighthouse", 1), "image/png");
        AssertReferenceTo(results[1], FakeOpenAi.ImageBytes("A lighthouse", 2), "image/png");
        Assert.Equal(2, done["usage"]!["images"]!.GetValue<long>());
        Assert.Equal(Credits - Price, _alice.Balance);

        var call = Assert.Single(_fake.Calls);
        Assert.Equal("POST", call.Method);
        Assert.Equal("/v1/images/generations", call.Path);
        Assert.Equal($"Bearer {_key.Value}", call.Header("Authorization"));
        var body = call.Json;
        Assert.Equal("dall-e-3", body["model"]!.GetValue<string>());
        Assert.Equal("A lighthouse", body["prompt"]!.GetValue<string>());
        Assert.Equal(2, body["n"]!.GetValue<int>());
        Assert.Equal("1024x1024", body["size"]!.GetValue<string>());
        Assert.Equal("hd", body["quality"]!.GetValue<string>());
        Assert.Equal("vivid", body["style"]!.GetValue<string>());
        // Asked for the bytes, never a URL to fetch.
        Assert.Equal("b64_json", body["response_format"]!.GetValue<string>());
        Assert.Null(body["endpoint"]);
    }

    [Fact]
    public async Task TheOwnerReadsEachImageAtItsUrlByteForByteWithItsMediaType()
    {
        var done = await Run("draw", "harbour");

        Assert.Equal("succeeded", Status(done));
        var results = done["results"]!.AsArray();
        for (var i = 0; i < 2; i++)
        {
            var url = results[i]!["url"]!.GetValue<string>();
            using var response = await _alice.Client.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(FakeOpenAi.ImageBytes("A harbour", i + 1), await response.Content.ReadAsByteArrayAsync());
        }
        // Nobody else reads them.
        var bob = await App.AddUserAsync("bob", 1);
        using var stranger = await bob.Client.GetAsync(results[0]!["url"]!.GetValue<string>());
        Assert.NotEqual(HttpStatusCode.OK, stranger.StatusCode);
    }

    [Fact]
    public async Task AGptImageModelIsNotSentResponseFormatAndItsJpegAndTokenUsageAreKept()
    {
        var jpeg = new byte[3000];
        Random.Shared.NextBytes(jpeg);
        jpeg[0] = 0xFF;
        jpeg[1] = 0xD8;
        jpeg[2] = 0xFF;
        _fake.Enqueue(FakeReply.Images([jpeg], new JsonObject { ["input_tokens"] = 9, ["output_tokens"] = 1056, ["total_tokens"] = 1065 }));

        var done = await Run("gpt", "cat");

        Assert.Equal("succeeded", Status(done));
        AssertReferenceTo(Assert.Single(done["results"]!.AsArray()), jpeg, "image/jpeg");
        Assert.Equal(1, done["usage"]!["images"]!.GetValue<long>());
        Assert.Equal(1056, done["usage"]!["output_tokens"]!.GetValue<long>());
        var body = Assert.Single(_fake.Calls).Json;
        Assert.Null(body["response_format"]);
        Assert.Equal("jpeg", body["output_format"]!.GetValue<string>());
        Assert.Equal("opaque", body["background"]!.GetValue<string>());
    }

    [Fact]
    public async Task AKeylessProfileSendsNoAuthorization()
    {
        var done = await Run("local", "tree");

        Assert.Equal("succeeded", Status(done));
        Assert.Null(Assert.Single(_fake.Calls).Header("Authorization"));
    }

    [Fact]
    public async Task AnAnswerThatOnlyNamesAUrlIsRefusedAndNothingIsFetched()
    {
        var elsewhere = _fake.Address + "/elsewhere/image.png";
        _fake.Enqueue(FakeReply.ImageUrls(elsewhere));

        var done = await Run("local", "url");

        AssertFailedAndRefunded(done, "upstream_bad_response", 1);
        Assert.Contains("URL", done["error"]!["message"]!.GetValue<string>());
        Assert.Single(_fake.Calls);
    }

    [Fact]
    public async Task RateLimitingIsRetriedNoSoonerThanRetryAfterSays()
    {
        _fake.Enqueue(FakeReply.Error(429, "slow down").WithHeader("Retry-After", "1"));

        var done = await Run("local", "patience");

        Assert.Equal("succeeded", Status(done));
        Assert.Equal(2, done["attempts"]!.GetValue<int>());
        var calls = _fake.Calls;
        Assert.Equal(2, calls.Count);
        var gap = calls[1].ReceivedAt - calls[0].ReceivedAt;
        Assert.True(gap >= TimeSpan.FromMilliseconds(900), $"the retry came {gap.TotalMilliseconds:0} ms after the 429, before its Retry-After of 1 s");
        Assert.Equal(Credits - Price, _alice.Balance);
    }

    [Fact]
    public async Task AServerErrorIsRetriedByTheExecutorNotTheSdk()
    {
        _fake.Fallback = _ => FakeReply.Error(503, "overloaded");

        var done = await Run("local", "busy");

        // Three attempts, one call each: the SDK's own retries are off.
        AssertFailedAndRefunded(done, "upstream_error", 3);
        Assert.Equal(3, _fake.Calls.Count);
    }

    [Fact]
    public async Task ABadRequestFailsAtOnceWithoutEchoingTheUpstreamsText()
    {
        _fake.Enqueue(FakeReply.Error(400, "your prompt was rejected: lighthouse"));

        var done = await Run("local", "rejected");

        AssertFailedAndRefunded(done, "upstream_rejected", 1);
        var message = done["error"]!["message"]!.GetValue<string>();
        Assert.Contains("400", message);
        Assert.Contains("fake_error", message);
        Assert.DoesNotContain("prompt was rejected", message);
    }

    [Fact]
    public async Task RejectedCredentialsFailAtOnceAndTheKeyNeverShows()
    {
        _fake.Fallback = _ => FakeReply.Error(401, $"Incorrect API key provided: {_key.Value}");

        var done = await Run("draw", "secret");

        AssertFailedAndRefunded(done, "upstream_auth_failed", 1);
        Assert.DoesNotContain(_key.Value, done.ToJsonString());
    }

    [Fact]
    public async Task AnAnswerOverMaxUpstreamBytesFailsWithoutBeingRead()
    {
        _fake.Enqueue(FakeReply.Images([FakeOpenAi.ImageBytes("big", 1, length: 2 * MaxUpstreamBytes)]));

        var done = await Run("local", "huge");

        AssertFailedAndRefunded(done, "upstream_too_large", 1);
    }

    [Fact]
    public async Task ASlowUpstreamTimesOutOnEveryAttemptThenFails()
    {
        _fake.Fallback = call => FakeOpenAi.ImageN(call).After(TimeSpan.FromSeconds(5));

        var done = await Run("quick", "slow", seconds: 8);

        AssertFailedAndRefunded(done, "timeout", 3);
    }
}
