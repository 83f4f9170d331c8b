using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Switchboard.Usage;

namespace Switchboard.Tests.Usage;

/// <summary>Handler attempts also count as .NET metrics, with bounded labels (resource, handler; never a user).</summary>
public sealed class UsageMetricsTests : IAsyncLifetime
{
    private readonly string _resource = $"metrics{Guid.NewGuid():N}"[..20];
    private readonly ConcurrentBag<(string Instrument, double Value, Dictionary<string, object?> Tags)> _seen = [];
    private readonly MeterListener _listener = new();

    public Task InitializeAsync()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == UsageMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Keep(i.Name, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Keep(i.Name, v, tags));
        _listener.Start();
        return Task.CompletedTask;
    }

    private void Keep(string instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var map = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            map[tag.Key] = tag.Value;
        }
        // Other tests run beside this one: only this test's resource counts.
        if (Equals(map.GetValueOrDefault("resource"), _resource))
        {
            _seen.Add((instrument, value, map));
        }
    }

    public Task DisposeAsync()
    {
        _listener.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task EveryAttemptCountsUnderItsResourceAndHandler()
    {
        await using var app = await TestApp.StartAsync(StoreKind.Sqlite, catalog: $$"""
            handlers:
              - {id: echo.render, credits: 3, resource: {{_resource}}}
            offers:
              - {service: text, action: say, handler: echo.render, price: 2, prompt_template: "Say {n}"}
              - {service: text, action: broken, handler: echo.render, price: 2, prompt_template: "Never {n}", params: {fail: "no"} }
            """);
        var client = (await app.AddUserAsync("alice", 100)).Client;
        foreach (var (action, n) in new[] { ("say", 1), ("say", 2), ("broken", 3) })
        {
            var id = await SwitchboardFactory.IdOf(await client.PostAsJsonAsync($"/svc/text/{action}/", new { n }));
            await SwitchboardFactory.WaitForEnd(client, id);
        }

        double Sum(string instrument) => _seen.Where(m => m.Instrument == instrument).Sum(m => m.Value);
        Assert.Equal(3, Sum("switchboard.handler.calls"));
        Assert.Equal(9, Sum("switchboard.handler.integration_credits"));
        Assert.Equal(4, Sum("switchboard.handler.user_credits"));
        Assert.Equal(1, Sum("switchboard.handler.errors"));
        Assert.Equal(3, _seen.Count(m => m.Instrument == "switchboard.handler.duration"));
        Assert.All(_seen, m => Assert.Equal(["handler", "resource"], m.Tags.Keys.Order()));
        Assert.All(_seen, m => Assert.Equal("echo.render", m.Tags["handler"]));
    }
}
