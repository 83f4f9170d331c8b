namespace Switchboard.Tests.ResourceGates;

/// <summary>The same limits in the embedded default (one process, in-process gate), and the API's reject mode.</summary>
[Collection(LoadSensitiveCollection.Name)]
public sealed class EmbeddedLimitsTests : AppTests
{
    private FakeOpenAi _upstream = null!;
    private HttpClient _client = null!;
    private string _userId = "";

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        _upstream = app.Own(await FakeOpenAi.StartAsync());
        var alice = await app.AddUserAsync("alice", 10_000);
        await Infrastructure.Cli.PushOpenAiEndpoint(app.Store, _upstream.BaseUrl);
        await app.ApplyCatalogAsync($$"""
            handlers:
              - {id: openai.chat, credits: 2, resource: api}
              - {id: echo.render, credits: 1, resource: scarce}
            offers:
              - {service: chat, action: ask, handler: openai.chat, price: 1, prompt_template: "Q {n}", params: {model: m} }
              - {service: text, action: say, handler: echo.render, price: 3, prompt_template: "Say {n}"}
            """);
        var file = Path.Combine(app.Store.Path, "resources.yaml");
        await File.WriteAllTextAsync(file, """
            resource_map:
              api: {max_concurrent: 4, credits: 100000, period: 1h}
              scarce: {credits: 2, period: 1h, on_exhausted: reject}
            """);
        var (exit, _, error) = await app.CliAsync("config", "push", file, "--id", "resource_map");
        Assert.True(exit == 0, error);
        (_userId, _client) = (alice.Id, alice.Client);
        return app;
    }

    [Fact]
    public async Task MaxConcurrentHoldsAndWaitingJobsShowTheirPlace()
    {
        // Calls longer than the 100 ms a job may wait in its worker, so most jobs are parked.
        _upstream.Fallback = call => FakeOpenAi.EchoN(call).After(TimeSpan.FromMilliseconds(300));
        var ids = new string[60];
        await Parallel.ForAsync(0, ids.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var response = await _client.PostAsJsonAsync("/svc/chat/ask/", new { n = i });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids[i] = await SwitchboardFactory.IdOf(response);
        });
        // Requests waiting their turn in the lane show where they stand.
        JsonObject? waiting = null;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (waiting is null && DateTime.UtcNow < deadline)
        {
            var requests = new List<JsonObject>();
            foreach (var id in ids)
            {
                requests.Add(await SwitchboardFactory.Get(_client, id));
            }
            // Parked in the lane (a job still in the queue shows its queue_position too, without waiting_for).
            waiting = requests.FirstOrDefault(r => r["waiting_for"] is not null && r["queue_position"] is not null);
            if (requests.All(r => r["status"]!.GetValue<string>() == "succeeded"))
            {
                break;
            }
        }
        foreach (var id in ids)
        {
            Assert.Equal("succeeded", (await SwitchboardFactory.WaitForEnd(_client, id, TimeSpan.FromSeconds(60)))["status"]!.GetValue<string>());
        }

        Assert.NotNull(waiting);
        Assert.Equal("queued", waiting["status"]!.GetValue<string>());
        Assert.Equal("api", waiting["waiting_for"]!.GetValue<string>());
        Assert.True(waiting["queue_position"]!.GetValue<long>() >= 1);
        Assert.True(waiting["eta_s"]!.GetValue<double>() >= 0);
        Assert.InRange(_upstream.MaxInFlight, 1, 4);
        Assert.True(_upstream.AverageInFlight >= 2.5, $"the upstream averaged {_upstream.AverageInFlight:0.00} calls in flight");
        Assert.Equal(10_000 - 60, Ledger.Balance(App.Store, _userId));
        Ledger.AssertBalanced(App.Store);
    }

    [Fact]
    public async Task AdminsSeeEachResourceWithItsLimitsAndState()
    {
        var admin = await Infrastructure.Cli.Json(App.Store, "users", "create", "boss", "--admin");
        var adminClient = App.ClientFor(admin["api_key"]!.GetValue<string>());
        await Wait.ClearOfPeriodEdge(TimeSpan.FromHours(1), TimeSpan.FromMinutes(1));
        var accepted = await _client.PostAsJsonAsync("/svc/text/say/", new { n = 1 });
        await SwitchboardFactory.WaitForEnd(_client, await SwitchboardFactory.IdOf(accepted));

        var response = await adminClient.GetAsync("/admin/api/resources");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var resources = (await response.Content.ReadFromJsonAsync<JsonObject>())!["resources"]!.AsArray();
        Assert.Equal(["api", "scarce"], resources.Select(r => r!["name"]!.GetValue<string>()));
        var scarce = resources[1]!;
        Assert.Equal(2, scarce["credits"]!.GetValue<long>());
        Assert.Equal("reject", scarce["on_exhausted"]!.GetValue<string>());
        Assert.Equal(1, scarce["spent"]!.GetValue<long>());
        Assert.Equal(0, scarce["in_use"]!.GetValue<long>());
        Assert.Equal(4, resources[0]!["max_concurrent"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.Forbidden, (await _client.GetAsync("/admin/api/resources")).StatusCode);

        // The call counts once usage is flushed (every 2 s by default).
        var calls = await Wait.For(async () =>
            {
                var now = (await adminClient.GetFromJsonAsync<JsonObject>("/admin/api/resources"))!["resources"]!.AsArray();
                return now.Single(r => r!["name"]!.GetValue<string>() == "scarce")!["calls_last_minute"]!.GetValue<long>();
            },
            counted => counted != 0, TimeSpan.FromSeconds(10), "scarce's calls_last_minute", poll: TimeSpan.FromMilliseconds(100));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task ARejectModeResourceRefusesWith429BeforeChargingOnceItsBudgetIsSpent()
    {
        await Wait.ClearOfPeriodEdge(TimeSpan.FromHours(1), TimeSpan.FromMinutes(1));
        for (var i = 0; i < 2; i++)
        {
            var accepted = await _client.PostAsJsonAsync("/svc/text/say/", new { n = i });
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            await SwitchboardFactory.WaitForEnd(_client, await SwitchboardFactory.IdOf(accepted));
        }
        var balance = Ledger.Balance(App.Store, _userId);

        var refused = await _client.PostAsJsonAsync("/svc/text/say/", new { n = 99 });

        var problem = await Problem(refused, HttpStatusCode.TooManyRequests, "resource_exhausted");
        Assert.Equal("scarce", problem["resource"]!.GetValue<string>());
        var retryAfter = refused.Headers.RetryAfter!.Delta!.Value;
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        Assert.Equal(balance, Ledger.Balance(App.Store, _userId));
        Ledger.AssertBalanced(App.Store);
    }
}
