namespace Switchboard.Tests.ResourceGates;

/// <summary>What happens to jobs while they wait in a lane: cancelled, or their resource removed from the map.</summary>
public sealed class WaitingJobTests : AppTests
{
    private HttpClient _client = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        var alice = await app.AddUserAsync("alice", 1000);
        await app.ApplyCatalogAsync("""
            handlers:
              - {id: echo.render, credits: 1, resource: one}
            offers:
              - {service: text, action: slow, handler: echo.render, price: 2, prompt_template: "Slowly {n}", params: {delay_ms: 1500}}
              - {service: text, action: quick, handler: echo.render, price: 1, prompt_template: "Quickly {n}"}
            """);
        await app.PushConfigAsync("resource_map", "resource_map:\n  one: {max_concurrent: 1}\n");
        _client = alice.Client;
        return app;
    }

    private async Task<string> Submit(string action, int n)
    {
        var response = await _client.PostAsJsonAsync($"/svc/text/{action}/", new { n });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await SwitchboardFactory.IdOf(response);
    }

    private Task WaitUntilParked(string id) =>
        Wait.Until(async () => (await SwitchboardFactory.Get(_client, id))["queue_position"] is not null, TimeSpan.FromSeconds(10), $"{id} to wait in the lane");

    [Fact]
    public async Task ACancelledWaitingJobGivesItsReservedSlotBackAtOnce()
    {
        var slow = await Submit("slow", 1);
        await SwitchboardFactory.WaitFor(_client, slow, TimeSpan.FromSeconds(10), "running");
        var cancelled = await Submit("quick", 2);
        await WaitUntilParked(cancelled);
        Assert.Equal(HttpStatusCode.OK, (await _client.DeleteAsync($"/svc/request/{cancelled}/")).StatusCode);

        await SwitchboardFactory.WaitForEnd(_client, slow);
        var next = await Submit("quick", 3);

        // The slot reserved for the cancelled job comes back when its message finds it cancelled,
        // not after lease_s (60 s).
        var done = await SwitchboardFactory.WaitForEnd(_client, next, TimeSpan.FromSeconds(5));
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal("cancelled", (await SwitchboardFactory.Get(_client, cancelled))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task JobsWaitingForAResourceRemovedFromTheMapRunUngated()
    {
        var slow = await Submit("slow", 1);
        await SwitchboardFactory.WaitFor(_client, slow, TimeSpan.FromSeconds(10), "running");
        var waiting = new[] { await Submit("quick", 2), await Submit("quick", 3) };
        foreach (var id in waiting)
        {
            await WaitUntilParked(id);
        }

        await App.PushConfigAsync("resource_map", "resource_map: {}\n");

        // Sent on before the slow one finished: no longer limited, and never stranded.
        foreach (var id in waiting)
        {
            Assert.Equal("succeeded", (await SwitchboardFactory.WaitForEnd(_client, id, TimeSpan.FromSeconds(5)))["status"]!.GetValue<string>());
        }
        Assert.Equal("running", (await SwitchboardFactory.Get(_client, slow))["status"]!.GetValue<string>());
    }
}
