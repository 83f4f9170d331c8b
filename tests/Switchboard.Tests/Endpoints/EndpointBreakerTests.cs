using Polly.CircuitBreaker;
using Switchboard.Execution.Endpoints;
using Switchboard.Observability;

namespace Switchboard.Tests.Endpoints;

/// <summary>
/// The breaker of a failing endpoint opens (the metric says so, and calls skip it), and after
/// its break one probe call goes through; when the upstream has recovered it closes again.
/// Profile names are this test's own: the metrics are the process's, shared with other tests.
/// </summary>
public sealed class EndpointBreakerTests : AppTests
{
    private const long Credits = 1000;
    private const long Price = 10;

    private readonly string _failing = $"flaky-{TestNames.Short()}";
    private readonly string _steady = $"steady-{TestNames.Short()}";
    private FakeOpenAi _flaky = null!;
    private FakeOpenAi _other = null!;
    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite, new Dictionary<string, string?>
        {
            // Opens after two failed calls out of two; probes again after a second.
            ["Switchboard:Breakers:MinimumThroughput"] = "2",
            ["Switchboard:Breakers:FailureRatio"] = "0.5",
            ["Switchboard:Breakers:SamplingDuration"] = "00:00:30",
            ["Switchboard:Breakers:BreakDuration"] = "00:00:01",
        });
        _flaky = app.Own(await FakeOpenAi.StartAsync());
        _other = app.Own(await FakeOpenAi.StartAsync());
        await app.PushConfigAsync("svc_handlers", $$"""
            openai:
              endpoints:
                {{_failing}}: {base_url: "{{_flaky.BaseUrl}}"}
                {{_steady}}: {base_url: "{{_other.BaseUrl}}"}
            """);
        await app.ApplyCatalogAsync($$"""
            handlers:
              - {id: openai.chat, credits: 1}
            offers:
              - {service: chat, action: ask, handler: openai.chat, price: {{Price}}, prompt_template: "Q {n}",
                 params: {model: m, endpoints: [{{_failing}}, {{_steady}}], endpoint_policy: fallback} }
            """);
        _alice = await app.AddUserAsync("alice", Credits);
        return app;
    }

    private double State => SwitchboardMetrics.EndpointBreakerState.WithLabels("openai.chat", _failing).Value;

    private double Transitions(string to) => SwitchboardMetrics.EndpointBreakerTransitions.WithLabels("openai.chat", _failing, to).Value;

    private async Task<JsonObject> Ask(int n)
    {
        var id = await _alice.Client.SubmitAsync("/svc/chat/ask/", new { n });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id);
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        return done;
    }

    [Fact]
    public async Task TheBreakerOpensSkipsTheFailingEndpointAndClosesAfterAProbeOnceItRecovers()
    {
        _flaky.Fallback = _ => FakeReply.Error(503, "overloaded");

        // Two failures at the first endpoint (each request then served by the second) open its breaker.
        for (var n = 0; n < 2; n++)
        {
            Assert.Equal(2, (await Ask(n))["attempts"]!.GetValue<int>());
        }
        Assert.Equal(2, _flaky.Calls.Count);
        Assert.Equal(1, State);
        Assert.Equal(1, Transitions("open"));
        var breakers = App.Services.GetRequiredService<EndpointBreakers>();
        Assert.True(breakers.IsOpen("openai.chat", _failing));

        // Open: requests go straight to the second, one attempt each; the first gets no call.
        for (var n = 2; n < 5; n++)
        {
            var done = await Ask(n);
            Assert.Equal(1, done["attempts"]!.GetValue<int>());
            Assert.Equal(_steady, done["endpoint"]!.GetValue<string>());
        }
        Assert.Equal(2, _flaky.Calls.Count);

        // Recovered, and the break is over: the next request is the probe, served by the first; the breaker closes.
        _flaky.Fallback = FakeOpenAi.ByPath;
        await Wait.Until(() => !breakers.IsOpen("openai.chat", _failing), TimeSpan.FromSeconds(10), "the break to end");
        var probe = await Ask(5);
        Assert.Equal(_failing, probe["endpoint"]!.GetValue<string>());
        Assert.Equal(1, probe["attempts"]!.GetValue<int>());
        Assert.Equal(3, _flaky.Calls.Count);
        Assert.Equal(0, State);
        Assert.Equal(1, Transitions("half_open"));
        Assert.Equal(1, Transitions("closed"));
        Assert.Equal(CircuitState.Closed, breakers.StateOf("openai.chat", _failing));
        Assert.Equal(Credits - (6 * Price), _alice.Balance);
        Ledger.AssertBalanced(App.Store);
    }
}
