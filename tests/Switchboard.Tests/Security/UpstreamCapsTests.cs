namespace Switchboard.Tests.Security;

/// <summary>
/// The <c>api</c> config's caps on upstream data: an answer over <c>max_upstream_bytes</c>, a
/// result over <c>max_result_bytes</c>, results over <c>max_results_bytes</c> and a pipeline
/// step whose input (earlier results joined) grows over it each fail with their code, store no
/// result and are refunded (the credits audit passes). On SQLite and PostgreSQL.
/// </summary>
public abstract class UpstreamCapsTests(StoreKind kind) : AppTests
{
    private const long Credits = 1000;

    private const string Catalog = """
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
        """;

    private FakeOpenAi _upstream = null!;
    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: Catalog);
        _upstream = app.Own(await FakeOpenAi.StartAsync());
        await Infrastructure.Cli.PushOpenAiEndpoint(app.Store, _upstream.BaseUrl);
        _alice = await app.AddUserAsync("alice", Credits);
        return app;
    }

    /// <summary>Pushes the test's <c>api</c> config (its caps), then runs one request to its end: the server starts with the caps.</summary>
    private async Task<JsonObject> Run(string apiConfig, string path, object body)
    {
        await App.PushConfigAsync("api", apiConfig);
        var response = await _alice.Client.PostAsJsonAsync(path, body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await SwitchboardFactory.WaitForEnd(_alice.Client, await SwitchboardFactory.IdOf(response), TimeSpan.FromSeconds(20));
    }

    private void AssertFailedAndRefunded(JsonObject done, string code)
    {
        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Equal(code, done["error"]!["code"]!.GetValue<string>());
        Assert.Empty(done["results"]!.AsArray());
        Assert.Equal(Credits, _alice.Balance);
        Assert.Equal(1, Ledger.Count(App.Store, "refund", done["id"]!.GetValue<string>()));
        Ledger.AssertBalanced(App.Store);
    }

    [Fact]
    public async Task AnUpstreamAnswerOverMaxUpstreamBytesFailsTheJobAndRefunds()
    {
        _upstream.Fallback = _ => FakeReply.Choices(new string('x', 100_000));

        var done = await Run("max_upstream_bytes: 4096\n", "/svc/chat/ask/", new { q = "flood me" });

        AssertFailedAndRefunded(done, "upstream_too_large");
        Assert.Equal(1, done["attempts"]!.GetValue<int>());
    }

    [Fact]
    public async Task AResultOverMaxResultBytesFailsTheJobAndRefunds()
    {
        var done = await Run("max_result_bytes: 100\n", "/svc/text/say/", new { word = new string('w', 200) });

        AssertFailedAndRefunded(done, "result_too_large");
    }

    [Fact]
    public async Task ResultsOverMaxResultsBytesFailTheJobAndRefund()
    {
        // Ten results of 200 bytes: each fits no cap of its own, together they pass 1000.
        var done = await Run("max_results_bytes: 1000\n", "/svc/text/many/", new { word = new string('w', 200) });

        AssertFailedAndRefunded(done, "result_too_large");
    }

    [Fact]
    public async Task AStepInputThatGrowsOverMaxResultsBytesFailsTheDealAndRefunds()
    {
        // Each step's own results fit 3000 bytes; the third step receives the first two's (extend): 3,200.
        var deal = await Run("max_results_bytes: 3000\n", "/svc/deal/growth/", new { inputs = new { word = new string('w', 1600) } });

        Assert.Equal("failed", deal["status"]!.GetValue<string>());
        Assert.Contains("step_input_too_large", deal.ToJsonString());
        // The two steps that ran are paid (1 credit each), as in any deal; the refused step is refunded.
        Assert.Equal(Credits - 2, _alice.Balance);
        Ledger.AssertBalanced(App.Store);
    }
}

public sealed class UpstreamCapsOnSqlite() : UpstreamCapsTests(StoreKind.Sqlite);

public sealed class UpstreamCapsOnPostgres() : UpstreamCapsTests(StoreKind.Postgres);
