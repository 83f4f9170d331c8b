namespace Switchboard.Tests.Endpoints;

/// <summary><c>catalog apply</c> refuses a malformed <c>endpoints</c> or <c>endpoint_policy</c>, saying where and why, and stores nothing.</summary>
public sealed class EndpointCatalogTests : AppTests
{
    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(StoreKind.Sqlite);

    [Theory]
    [InlineData("{endpoint_policy: random, endpoints: [a, b]}", "params.endpoint_policy must be fallback, weighted or least-busy")]
    [InlineData("{endpoint_policy: weighted}", "params.endpoint_policy needs endpoints")]
    [InlineData("{endpoints: []}", "params.endpoints must be a list of 1 to 16")]
    [InlineData("{endpoints: a}", "params.endpoints must be a list of 1 to 16")]
    [InlineData("{endpoints: [a, a]}", "params.endpoints[1] names 'a' twice")]
    [InlineData("{endpoints: [a, 'B c']}", "params.endpoints[1] must be a profile name")]
    [InlineData("{endpoints: [a, 7]}", "params.endpoints[1] must be an endpoint profile name or {name, weight}")]
    [InlineData("{endpoints: [a, {name: b, weight: 0}], endpoint_policy: weighted}", "params.endpoints[1].weight must be a whole number from 1 to 1000")]
    [InlineData("{endpoints: [a, {name: b, weight: 2}]}", "params.endpoints[1].weight is read only by endpoint_policy: weighted")]
    [InlineData("{endpoints: [a, {name: b, cost: 2}]}", "params.endpoints[1] has unknown key 'cost'")]
    [InlineData("{endpoint: a, endpoints: [a, b]}", "params.endpoint cannot be set together with endpoints")]
    public async Task BadEndpointParamsAreACatalogError(string parameters, string message)
    {
        var (exit, _, error) = await App.TryApplyCatalogAsync($$"""
            handlers:
              - {id: echo.render, credits: 1}
            offers:
              - {service: text, action: say, handler: echo.render, price: 1, prompt_template: "Say {n}", params: {{parameters}} }
            """);

        Assert.NotEqual(0, exit);
        Assert.Contains(message, error);
        Assert.Empty(App.Store.Query(Switchboard.Catalog.CatalogStore.Load).Offers);
    }

    [Fact]
    public async Task AWellFormedListApplies()
    {
        var (exit, _, error) = await App.TryApplyCatalogAsync("""
            handlers:
              - {id: echo.render, credits: 1}
            offers:
              - {service: text, action: say, handler: echo.render, price: 1, prompt_template: "Say {n}", params: {endpoints: [{name: a, weight: 3}, b], endpoint_policy: weighted} }
            """);

        Assert.True(exit == 0, error);
    }
}
