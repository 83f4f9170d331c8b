namespace Switchboard.Tests.Security;

/// <summary>
/// The <c>api</c> config's caps on upstream data: an answer over <c>max_upstream_bytes</c>, a
/// result over <c>max_result_bytes</c>, results over <c>max_results_bytes</c> and a pipeline
/// step whose input (earlier results joined) grows over it each fail with their code, store no
/// result and are refunded (the credits audit passes). On SQLite and PostgreSQL.
/// </summary>
public sealed class UpstreamCapsTests : IAsyncLifetime
{
    private const long Credits = 1000;

    private readonly List<TestStore> _stores = [];
    private readonly List<IAsyncDisposable> _apps = [];
    private FakeOpenAi _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeOpenAi.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }
        foreach (var store in _stores)
        {
            Ledger.AssertAudited(store);
            await store.DisposeAsync();
        }
        await _upstream.DisposeAsync();
    }

    private async Task<(TestStore Store, HttpClient Client, string UserId)> Start(StoreKind kind, string apiConfig)
    {
        var store = TestStore.Create(kind);
        _stores.Add(store);
        await Infrastructure.Cli.PushOpenAiEndpoint(store, _upstream.BaseUrl);
        await Infrastructure.Cli.PushConfig(store, "api", apiConfig);
        await Infrastructure.Cli.ApplyCatalog(store, """
            handlers:
              - {id: openai.chat, credits: 1}
              - {id: echo.render, credits: 1}
            offers:
              - {service: chat, action: ask, handler: openai.chat, price: 5, prompt_template: "Q {q}", params: {model: m}}
              - {service: text, action: say, handler: echo.render, price: 5, prompt_template: "{word}"}
              - {service: text, action: many, handler: echo.render, price: 5, create_qty: 10, prompt_template: "{word}"}
              - {service: p, action: first, handler: echo.render, price: 1, prompt_template: "{word}"}
              - {service: p, action: grow, handler: echo.render, price: 1, prompt_template: "{input}"}
            deals:
              - name: growth
                offers:
                  - {offer: p/first, pipeline: none}
                  - {offer: p/grow, pipeline: extend}
                  - {offer: p/grow, pipeline: extend}
            """);
        var (userId, key) = await Infrastructure.Cli.CreateUser(store, "alice", Credits);
        var app = new SwitchboardFactory(store);
        _apps.Add(app);
        return (store, app.ClientFor(key), userId);
    }

    private static async Task<JsonObject> Run(HttpClient client, string path, object body)
    {
        var response = await client.PostAsJsonAsync(path, body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await SwitchboardFactory.WaitForEnd(client, await SwitchboardFactory.IdOf(response), TimeSpan.FromSeconds(20));
    }

    private static void AssertFailedAndRefunded(TestStore store, string userId, JsonObject done, string code)
    {
        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Equal(code, done["error"]!["code"]!.GetValue<string>());
        Assert.Empty(done["results"]!.AsArray());
        Assert.Equal(Credits, Ledger.Balance(store, userId));
        Assert.Equal(1, Ledger.Count(store, "refund", done["id"]!.GetValue<string>()));
        Ledger.AssertBalanced(store);
    }

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task AnUpstreamAnswerOverMaxUpstreamBytesFailsTheJobAndRefunds(StoreKind kind)
    {
        var (store, client, userId) = await Start(kind, "max_upstream_bytes: 4096\n");
        _upstream.Fallback = _ => FakeReply.Choices(new string('x', 100_000));

        var done = await Run(client, "/svc/chat/ask/", new { q = "flood me" });

        AssertFailedAndRefunded(store, userId, done, "upstream_too_large");
        Assert.Equal(1, done["attempts"]!.GetValue<int>());
    }

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task AResultOverMaxResultBytesFailsTheJobAndRefunds(StoreKind kind)
    {
        var (store, client, userId) = await Start(kind, "max_result_bytes: 100\n");

        var done = await Run(client, "/svc/text/say/", new { word = new string('w', 200) });

        AssertFailedAndRefunded(store, userId, done, "result_too_large");
    }

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task ResultsOverMaxResultsBytesFailTheJobAndRefund(StoreKind kind)
    {
        var (store, client, userId) = await Start(kind, "max_results_bytes: 1000\n");

        // Ten results of 200 bytes: each fits no cap of its own, together they pass 1000.
        var done = await Run(client, "/svc/text/many/", new { word = new string('w', 200) });

        AssertFailedAndRefunded(store, userId, done, "result_too_large");
    }

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task AStepInputThatGrowsOverMaxResultsBytesFailsTheDealAndRefunds(StoreKind kind)
    {
        // Each step's own results fit 3000 bytes; the third step receives the first two's (extend): 3,200.
        var (store, client, userId) = await Start(kind, "max_results_bytes: 3000\n");

        var deal = await Run(client, "/svc/deal/growth/", new { inputs = new { word = new string('w', 1600) } });

        Assert.Equal("failed", deal["status"]!.GetValue<string>());
        Assert.Contains("step_input_too_large", deal.ToJsonString());
        // The two steps that ran are paid (1 credit each), as in any deal; the refused step is refunded.
        Assert.Equal(Credits - 2, Ledger.Balance(store, userId));
        Ledger.AssertBalanced(store);
    }
}
