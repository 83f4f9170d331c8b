namespace Switchboard.Tests.Handlers;

/// <summary>
/// <c>openai.embeddings</c> end to end: the official OpenAI SDK over real HTTP against a fake
/// OpenAI server on 127.0.0.1 that answers in the encoding the SDK asks for.
/// </summary>
public sealed class OpenAiEmbeddingsTests : AppTests
{
    private const long Credits = 100;
    private const long Price = 3;

    private FakeOpenAi _fake = null!;
    private UpstreamKey _key = null!;
    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        _key = UpstreamKey.Set(app, "OPENAI");
        _fake = app.Own(await FakeOpenAi.StartAsync());
        await app.PushConfigAsync("svc_handlers", $"openai:\n  base_url: {_fake.BaseUrl}\n  api_key_env: {_key.Variable}\n");
        await app.ApplyCatalogAsync($$"""
            handlers:
              - {id: openai.embeddings, credits: 1}
            offers:
              - {service: embed, action: text, handler: openai.embeddings, price: {{Price}}, prompt_template: "{text}",
                 params: {model: text-embedding-3-small, dimensions: 8} }
              - {service: embed, action: twice, handler: openai.embeddings, price: {{Price}}, create_qty: 2, prompt_template: "{text}",
                 params: {model: text-embedding-3-small} }
            """);
        _alice = await app.AddUserAsync("alice", Credits);
        return app;
    }

    private async Task<JsonObject> Run(string action, string text)
    {
        var id = await _alice.Client.SubmitAsync($"/svc/embed/{action}/", new { text });
        return await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task TheEmbeddingIsTheVectorTheUpstreamSentAndTheSdkSendsTheApisWireFormat()
    {
        var done = await Run("text", "the quick brown fox");

        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        var vector = Assert.IsType<JsonArray>(Assert.Single(done["results"]!.AsArray()));
        Assert.Equal(FakeOpenAi.Vector("the quick brown fox"), vector.Select(v => v!.GetValue<float>()));
        Assert.Equal(5, done["usage"]!["prompt_tokens"]!.GetValue<long>());
        Assert.Equal(Credits - Price, _alice.Balance);

        var call = Assert.Single(_fake.Calls);
        Assert.Equal("POST", call.Method);
        Assert.Equal("/v1/embeddings", call.Path);
        Assert.Equal($"Bearer {_key.Value}", call.Header("Authorization"));
        Assert.Equal("text-embedding-3-small", call.Json["model"]!.GetValue<string>());
        Assert.Equal(8, call.Json["dimensions"]!.GetValue<int>());
        Assert.Equal(["the quick brown fox"], call.Json["input"]!.AsArray().Select(i => i!.GetValue<string>()));
    }

    [Fact]
    public async Task ACreateQuantityAboveOneFailsBeforeAnyCallAndRefunds()
    {
        var done = await Run("twice", "again");

        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Equal("invalid_params", done["error"]!["code"]!.GetValue<string>());
        Assert.Empty(_fake.Calls);
        Assert.Equal(Credits, _alice.Balance);
        Ledger.AssertBalanced(App.Store);
    }

    [Fact]
    public async Task RateLimitingIsRetriedAfterRetryAfterMs()
    {
        _fake.Enqueue(FakeReply.Error(429, "slow down").WithHeader("retry-after-ms", "700"));

        var done = await Run("text", "later");

        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal(2, done["attempts"]!.GetValue<int>());
        var calls = _fake.Calls;
        Assert.True(calls[1].ReceivedAt - calls[0].ReceivedAt >= TimeSpan.FromMilliseconds(650));
    }

    [Fact]
    public async Task ANonJsonSuccessIsATransientBadResponse()
    {
        _fake.Fallback = _ => FakeReply.Text(200, "<html>gateway</html>");

        var done = await Run("text", "garbled");

        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Equal("upstream_bad_response", done["error"]!["code"]!.GetValue<string>());
        Assert.Equal(3, done["attempts"]!.GetValue<int>());
        Assert.Equal(Credits, _alice.Balance);
    }
}
