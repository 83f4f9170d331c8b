namespace Switchboard.Tests.Deals;

/// <summary>
/// A deal's step parked for its resource shows where it stands in the deal's request object, as
/// an offer's request does: <c>waiting_for</c>, <c>queue_position</c>, <c>eta_s</c>.
/// </summary>
public sealed class DealWaitingStepTests : AppTests
{
    private HttpClient _client = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite, catalog: """
            handlers:
              - {id: echo.render, credits: 1, resource: gate}
            offers:
              - {service: t, action: a, handler: echo.render, price: 2, prompt_template: "A({topic})"}
            deals:
              - {name: pack, offers: [{offer: t/a, pipeline: none}], price: 2}
            """);
        // A budget of 0: the step waits in the gate's lane (on_exhausted: wait, the default).
        await app.PushConfigAsync("resource_map", "resource_map:\n  gate: {credits: 0, period: 1h}\n");
        _client = (await app.AddUserAsync("alice", 10)).Client;
        return app;
    }

    [Fact]
    public async Task AStepWaitingForItsResourceShowsWhereItStands()
    {
        var id = await _client.SubmitAsync("/svc/deal/pack/", new { inputs = new { topic = "owls" } });

        var step = (await _client.WaitForRequest(id, d => d["steps"]![0]!["queue_position"] is not null))["steps"]![0]!.AsObject();

        Assert.NotNull(step);
        Assert.Equal("queued", step["status"]!.GetValue<string>());
        Assert.Equal("gate", step["waiting_for"]!.GetValue<string>());
        Assert.Equal(1, step["queue_position"]!.GetValue<long>());
        Assert.True(step["eta_s"]!.GetValue<double>() >= 0);
        // Cancelled, so the deal's charge is refunded and the store's audit balances.
        Assert.Equal(HttpStatusCode.OK, (await _client.DeleteAsync($"/svc/request/{id}/")).StatusCode);
    }
}
