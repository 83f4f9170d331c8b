using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Switchboard.Tests.Health.HealthJson;

namespace Switchboard.Tests.Health;

/// <summary>
/// The README's <c>chat/haiku</c> (openai.chat, profile <c>default</c>) applied without
/// <c>svc_handlers</c>: <c>catalog apply</c> warns and succeeds, <c>catalog check</c> lists it,
/// a <c>serve</c> logs it at start and answers 503 <c>handler_misconfigured</c> before any charge
/// (offer and deal), <c>/readyz</c> is degraded naming it; once the profile is pushed, the offer
/// is live within a poll, without restart, and a request succeeds against a fake upstream.
/// </summary>
public abstract class HandlerMisconfiguredTests(StoreKind kind) : AppTests
{
    private const string Catalog = """
        handlers:
          - {id: echo.render, credits: 1}
          - {id: openai.chat, credits: 1}
        offers:
          - {service: text, action: echo, handler: echo.render, price: 1, prompt_template: "Echo {word}"}
          - {service: chat, action: haiku, handler: openai.chat, price: 20, prompt_template: "Write a haiku about {subject}.", params: {endpoint: default, model: gpt-4o-mini}}
        deals:
          - {name: pack, offers: [{offer: text/echo}, {offer: chat/haiku}], price_modifier: 10}
        """;

    // Unique per test: tests of other classes run in parallel in the same process.
    private readonly string _keyVariable = $"SWITCHBOARD_TEST_HAIKU_KEY_{TestNames.Short()}";
    private readonly string _key = $"sk-test-{Guid.NewGuid():N}";
    private readonly LogSink _logs = new();
    private FakeOpenAi _upstream = null!;
    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind);
        app.AtEnd(() => Environment.SetEnvironmentVariable(_keyVariable, null));
        _upstream = app.Own(await FakeOpenAi.StartAsync());
        _alice = await app.AddUserAsync("alice", 100);
        await File.WriteAllTextAsync(Path.Combine(app.Store.Path, "catalog.yaml"), Catalog);
        return app;
    }

    private string CatalogFile => Path.Combine(App.Store.Path, "catalog.yaml");

    /// <summary>A serve on the store as it is now, its warnings and errors in <see cref="_logs"/>.</summary>
    private HttpClient StartServe()
    {
        var app = App.Own(new SwitchboardFactory(App.Store).WithWebHostBuilder(b => b.ConfigureServices(s => s.AddSingleton<ILoggerProvider>(_logs))));
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", _alice.Key);
        return client;
    }

    [Fact]
    public async Task CatalogApplyWarnsAndSucceedsAndCatalogCheckListsIt()
    {
        var (exit, output, error) = await App.CliAsync("catalog", "apply", CatalogFile);

        Assert.Equal(0, exit);
        Assert.Contains("applied 2 handler(s), 2 offer(s) and 1 deal(s)", output);
        Assert.Equal(
            "warning: chat/haiku (openai.chat): endpoint profile 'default' is not configured: set svc_handlers.openai.base_url (and ~api_key or api_key_env); not live (503 handler_misconfigured) until it is set",
            Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)));

        var (checkExit, checkOutput, _) = await App.CliAsync("catalog", "check");
        Assert.Equal(1, checkExit);
        Assert.Contains("chat/haiku (openai.chat): endpoint profile 'default' is not configured: set svc_handlers.openai.base_url", checkOutput);
        Assert.Contains("1 offer(s) to fix", checkOutput);

        // With the profile pushed: no warning; a note that the key is the executors' to have.
        await App.PushConfigAsync("svc_handlers", $"openai:\n  base_url: {_upstream.BaseUrl}\n  api_key_env: {_keyVariable}\n");
        (exit, _, error) = await App.CliAsync("catalog", "apply", CatalogFile);
        Assert.Equal(0, exit);
        Assert.DoesNotContain("warning", error);
        Assert.Contains($"note: chat/haiku (openai.chat): endpoint profile 'default' reads its key from environment variable {_keyVariable} on each executor", error);
        (checkExit, checkOutput, _) = await App.CliAsync("catalog", "check");
        Assert.Equal(0, checkExit);
        Assert.Contains("every offer is fine", checkOutput);
    }

    [Fact]
    public async Task ItsOffersAnswer503BeforeAnyChargeUntilTheProfileIsPushedThenGoLiveWithoutRestart()
    {
        await App.ApplyCatalogAsync(Catalog);
        var client = StartServe();
        // Logged once, at start.
        Assert.Equal(
            "Offer not live, its handler cannot run: chat/haiku (openai.chat): endpoint profile 'default' is not configured: set svc_handlers.openai.base_url (and ~api_key or api_key_env)",
            Assert.Single(_logs.Messages, m => m.Contains("chat/haiku", StringComparison.Ordinal)));

        var offer = await client.PostAsJsonAsync("/svc/chat/haiku/", new { subject = "spring" });
        var problem = (await offer.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, offer.StatusCode);
        Assert.Equal("application/problem+json", offer.Content.Headers.ContentType?.MediaType);
        Assert.Equal("handler_misconfigured", problem["code"]!.GetValue<string>());
        Assert.Contains("set svc_handlers.openai.base_url", problem["detail"]!.GetValue<string>());
        var deal = await client.PostAsJsonAsync("/svc/deal/pack/", new { inputs = new { word = "hi", subject = "spring" } });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, deal.StatusCode);
        Assert.Equal("handler_misconfigured", (await deal.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
        Assert.Equal(100, _alice.Balance);
        Assert.Equal(0, Ledger.RequestCount(App.Store));
        // The rest of the catalog sells.
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsJsonAsync("/svc/text/echo/", new { word = "hi" })).StatusCode);

        var (status, ready) = await Get(client, "/readyz");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("degraded", Status(ready));
        Assert.Contains("chat/haiku (openai.chat): endpoint profile 'default' is not configured", Component(ready, "handlers")["description"]!.GetValue<string>());
        Assert.Single(_logs.Messages, m => m.Contains("chat/haiku", StringComparison.Ordinal));

        Environment.SetEnvironmentVariable(_keyVariable, _key);
        await App.PushConfigAsync("svc_handlers", $"openai:\n  base_url: {_upstream.BaseUrl}\n  api_key_env: {_keyVariable}\n");
        _upstream.Fallback = _ => FakeReply.Choices("An old silent pond");
        // Live within a poll (100 ms here), no restart: bounded by a generous deadline for a busy machine.
        await WaitFor(client, "/readyz", (s, b) => s == HttpStatusCode.OK && Status(b) == "healthy", TimeSpan.FromSeconds(10));
        var done = await SwitchboardFactory.WaitForEnd(client, await client.SubmitAsync("/svc/chat/haiku/", new { subject = "spring" }));
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal($"Bearer {_key}", Assert.Single(_upstream.Calls).Header("Authorization"));
        Assert.Equal(100 - 1 - 20, _alice.Balance);
    }

    private sealed class LogSink : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Enqueue(formatter(state, exception));

        public void Dispose()
        {
        }
    }
}

public sealed class HandlerMisconfiguredOnSqlite() : HandlerMisconfiguredTests(StoreKind.Sqlite);

public sealed class HandlerMisconfiguredOnPostgres() : HandlerMisconfiguredTests(StoreKind.Postgres);
