namespace Switchboard.Tests.Distributed;

/// <summary>PostgreSQL going away: the API answers 503 store_unavailable (never 500), and recovers when it returns.</summary>
public sealed class StoreOutageTests : IAsyncLifetime
{
    private readonly TestStore _store = TestStore.Create(StoreKind.Postgres);
    private SwitchboardFactory _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        await Infrastructure.Cli.ApplyCatalog(_store, Requests.RequestLifecycleTests.Catalog);
        var (_, key) = await Infrastructure.Cli.CreateUser(_store, "alice", 100);
        _app = new SwitchboardFactory(_store);
        _client = _app.ClientFor(key);
    }

    public async Task DisposeAsync()
    {
        _store.SetConnections(allowed: true);
        Ledger.AssertBalanced(_store);
        await _app.DisposeAsync();
        await _store.DisposeAsync();
    }

    [Fact]
    public async Task WhileTheDatabaseIsUnreachableTheApiAnswers503AndRecoversAfterwards()
    {
        var before = await _client.PostAsJsonAsync("/svc/text/shout/", new { word = "hi", name = "bo" });
        Assert.Equal(HttpStatusCode.Accepted, before.StatusCode);
        var id = await SwitchboardFactory.IdOf(before);
        await SwitchboardFactory.WaitForEnd(_client, id);

        _store.SetConnections(allowed: false);
        foreach (var call in new Func<Task<HttpResponseMessage>>[]
        {
            () => _client.PostAsJsonAsync("/svc/text/shout/", new { word = "down", name = "bo" }),
            () => _client.GetAsync($"/svc/request/{id}/"),
            () => _client.GetAsync("/svc/me/"),
        })
        {
            var response = await call();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("store_unavailable", (await response.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
        }
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _app.CreateClient().GetAsync("/readyz")).StatusCode);

        _store.SetConnections(allowed: true);
        var after = await _client.PostAsJsonAsync("/svc/text/shout/", new { word = "back", name = "bo" });
        Assert.Equal(HttpStatusCode.Accepted, after.StatusCode);
        var done = await SwitchboardFactory.WaitForEnd(_client, await SwitchboardFactory.IdOf(after));
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        // The request refused while the database was away was neither stored nor charged.
        Assert.Equal(2, Ledger.RequestCount(_store));
        Assert.Equal(100 - 5 - 5, Ledger.Balance(_store, (await _client.GetFromJsonAsync<JsonObject>("/svc/me/"))!["id"]!.GetValue<string>()));
    }
}
