using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Deals;

/// <summary>
/// A deal's step parked for its resource shows where it stands in the deal's request object, as
/// an offer's request does: <c>waiting_for</c>, <c>queue_position</c>, <c>eta_s</c>.
/// </summary>
public sealed class DealWaitingStepTests : IAsyncLifetime
{
    private readonly TestStore _store = TestStore.Create(StoreKind.Sqlite);
    private SwitchboardFactory _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        await Infrastructure.Cli.ApplyCatalog(_store, """
            handlers:
              - {id: echo.render, credits: 1, resource: gate}
            offers:
              - {service: t, action: a, handler: echo.render, price: 2, prompt_template: "A({topic})"}
            deals:
              - {name: pack, offers: [{offer: t/a, pipeline: none}], price: 2}
            """);
        // A budget of 0: the step waits in the gate's lane (on_exhausted: wait, the default).
        var file = Path.Combine(_store.Path, "resources.yaml");
        await File.WriteAllTextAsync(file, "resource_map:\n  gate: {credits: 0, period: 1h}\n");
        var (exit, _, error) = await Infrastructure.Cli.Run(_store, "config", "push", file, "--id", "resource_map");
        Assert.True(exit == 0, error);
        var (_, key) = await Infrastructure.Cli.CreateUser(_store, "alice", 10);
        _app = new SwitchboardFactory(_store);
        _client = _app.ClientFor(key);
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _store.DisposeAsync();
    }

    [Fact]
    public async Task AStepWaitingForItsResourceShowsWhereItStands()
    {
        var response = await _client.PostAsJsonAsync("/svc/deal/pack/", new { inputs = new { topic = "owls" } });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = await SwitchboardFactory.IdOf(response);

        JsonObject? step = null;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            step = (await SwitchboardFactory.Get(_client, id))["steps"]![0]!.AsObject();
            if (step["queue_position"] is not null)
            {
                break;
            }
            await Task.Delay(100);
        }

        Assert.NotNull(step);
        Assert.Equal("queued", step["status"]!.GetValue<string>());
        Assert.Equal("gate", step["waiting_for"]!.GetValue<string>());
        Assert.Equal(1, step["queue_position"]!.GetValue<long>());
        Assert.True(step["eta_s"]!.GetValue<double>() >= 0);
        // Cancelled, so the deal's charge is refunded and the store's audit balances.
        Assert.Equal(HttpStatusCode.OK, (await _client.DeleteAsync($"/svc/request/{id}/")).StatusCode);
    }
}
