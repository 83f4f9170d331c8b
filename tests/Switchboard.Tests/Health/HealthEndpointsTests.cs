using static Switchboard.Tests.Health.HealthJson;

namespace Switchboard.Tests.Health;

/// <summary>
/// <c>/healthz</c> (liveness: no check runs) and <c>/readyz</c> (readiness: each component's
/// state as JSON) of a whole <c>serve</c> on each store; on PostgreSQL, the database going away
/// makes <c>/readyz</c> 503 with the store unhealthy while <c>/healthz</c> stays 200.
/// </summary>
public abstract class HealthEndpointsTests(StoreKind kind) : AppTests
{
    protected TestStore Store => App.Store;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: Requests.RequestLifecycleTests.Catalog);
        if (kind == StoreKind.Postgres)
        {
            // A test may leave its database refusing connections: the audit needs them back.
            app.AtEnd(() => app.Store.SetConnections(allowed: true));
        }
        return app;
    }

    [Fact]
    public async Task LivenessRunsNoCheck()
    {
        var (status, body) = await Get(App.CreateClient(), "/healthz");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("healthy", Status(body));
        Assert.Empty(body["components"]!.AsObject());
    }

    [Fact]
    public async Task ReadinessGivesEachComponentsStateDurationAndDescription()
    {
        var (status, body) = await Get(App.CreateClient(), "/readyz");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("healthy", Status(body));
        // No redis in this bootstrap: no redis component.
        Assert.Equal(["handlers", "store"], body["components"]!.AsObject().Select(c => c.Key).Order());
        var store = Component(body, "store");
        Assert.Equal("healthy", Status(store));
        Assert.True(store["duration_ms"]!.GetValue<double>() >= 0);
        Assert.StartsWith($"{kind} answers", store["description"]!.GetValue<string>());
        Assert.Equal("healthy", Status(Component(body, "handlers")));
    }
}

public sealed class HealthEndpointsOnSqlite() : HealthEndpointsTests(StoreKind.Sqlite);

public sealed class HealthEndpointsOnPostgres() : HealthEndpointsTests(StoreKind.Postgres)
{
    [Fact]
    public async Task WhileTheStoreIsDownReadinessIs503WithTheStoreUnhealthyAndLivenessStays200()
    {
        var client = App.CreateClient();
        Store.SetConnections(allowed: false);

        var (status, body) = await Get(client, "/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("unhealthy", Status(body));
        var store = Component(body, "store");
        Assert.Equal("unhealthy", Status(store));
        Assert.StartsWith("Postgres cannot be reached", store["description"]!.GetValue<string>());
        // Never the connection string (host, user, password).
        Assert.DoesNotContain(Store.DatabaseName!, body.ToJsonString());
        Assert.DoesNotContain("Password", body.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, (await Get(client, "/healthz")).Status);

        Store.SetConnections(allowed: true);
        await WaitFor(client, "/readyz", (s, b) => s == HttpStatusCode.OK && Status(b) == "healthy", TimeSpan.FromSeconds(20));
    }
}
