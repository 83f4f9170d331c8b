namespace Switchboard.Tests.Distributed;

/// <summary>PostgreSQL going away: the API answers 503 store_unavailable (never 500), and recovers when it returns.</summary>
public sealed class StoreOutageTests : AppTests
{
    private HttpClient _client = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Postgres, catalog: Requests.RequestLifecycleTests.Catalog);
        _client = (await app.AddUserAsync("alice", 100)).Client;
        // Whatever a test left, the database is reachable again before the books are checked.
        app.AtEnd(() =>
        {
            app.Store.SetConnections(allowed: true);
            Ledger.AssertBalanced(app.Store);
        });
        return app;
    }

    [Fact]
    public async Task WhileTheDatabaseIsUnreachableTheApiAnswers503AndRecoversAfterwards()
    {
        var before = await _client.PostAsJsonAsync("/svc/text/shout/", new { word = "hi", name = "bo" });
        Assert.Equal(HttpStatusCode.Accepted, before.StatusCode);
        var id = await SwitchboardFactory.IdOf(before);
        await SwitchboardFactory.WaitForEnd(_client, id);

        App.Store.SetConnections(allowed: false);
        foreach (var call in new Func<Task<HttpResponseMessage>>[]
        {
            () => _client.PostAsJsonAsync("/svc/text/shout/", new { word = "down", name = "bo" }),
            () => _client.GetAsync($"/svc/request/{id}/"),
            () => _client.GetAsync("/svc/me/"),
        })
        {
            await Problem(await call(), HttpStatusCode.ServiceUnavailable, "store_unavailable");
        }
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await App.CreateClient().GetAsync("/readyz")).StatusCode);

        App.Store.SetConnections(allowed: true);
        var after = await _client.PostAsJsonAsync("/svc/text/shout/", new { word = "back", name = "bo" });
        Assert.Equal(HttpStatusCode.Accepted, after.StatusCode);
        var done = await SwitchboardFactory.WaitForEnd(_client, await SwitchboardFactory.IdOf(after));
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        // The request refused while the database was away was neither stored nor charged.
        Assert.Equal(2, Ledger.RequestCount(App.Store));
        Assert.Equal(100 - 5 - 5, Ledger.Balance(App.Store, (await _client.GetFromJsonAsync<JsonObject>("/svc/me/"))!["id"]!.GetValue<string>()));
    }
}
