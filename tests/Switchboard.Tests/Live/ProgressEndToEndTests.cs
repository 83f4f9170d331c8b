using Microsoft.AspNetCore.TestHost;
using Switchboard.Tests.Handlers;

namespace Switchboard.Tests.Live;

/// <summary>
/// Progress through the whole app: the sample plugin's <c>sample.wordcount</c> reports progress
/// per result; its last report is on the row before the success, so GET and the live status
/// socket's final message show it as the request object's <c>progress</c>.
/// </summary>
public abstract class ProgressEndToEndTests(StoreKind kind) : AppTests
{
    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind);
        var plugins = Path.Combine(app.Store.Path, "plugins");
        PluginTestFolder.Install(plugins);
        var bootstrap = app.Store.WriteBootstrap("with-plugins.yaml", lines: $"plugins: {{path: '{plugins}'}}");
        var catalog = Path.Combine(app.Store.Path, "catalog.yaml");
        await File.WriteAllTextAsync(catalog, """
            handlers:
              - {id: sample.wordcount, credits: 1}
            offers:
              - {service: text, action: count, handler: sample.wordcount, price: 3, prompt_template: "{text}", create_qty: 3}
            """);
        var (exit, _, error) = await Infrastructure.Cli.RunArgs("catalog", "apply", catalog, "--config", bootstrap);
        Assert.True(exit == 0, error);
        app.Settings["Switchboard:Config"] = bootstrap;
        _alice = await app.AddUserAsync("alice", 100);
        return app;
    }

    [Fact]
    public async Task TheLastReportedProgressIsOnTheRequestObjectOfGetAndTheSocket()
    {
        var id = await _alice.Client.SubmitAsync("/svc/text/count/", new { text = "the cat sat" });
        var client = App.Server.Server.CreateWebSocketClient();
        client.ConfigureRequest = r => r.Headers.Authorization = $"Bearer {_alice.Key}";
        var uri = new UriBuilder(App.Server.Server.BaseAddress) { Scheme = "ws", Path = $"/svc/request/{id}/ws" }.Uri;
        using var socket = await client.ConnectAsync(uri, CancellationToken.None);
        var messages = await LiveSockets.ReadToClose(socket, TimeSpan.FromSeconds(20));

        var got = await SwitchboardFactory.Get(_alice.Client, id);
        Assert.Equal("succeeded", got["status"]!.GetValue<string>());
        Assert.Equal(1.0, got["progress"]!["fraction"]!.GetValue<double>());
        Assert.Equal("3 of 3 counted", got["progress"]!["message"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(got["progress"], messages[^1]["progress"]));
    }
}

public sealed class ProgressEndToEndOnSqlite() : ProgressEndToEndTests(StoreKind.Sqlite);

public sealed class ProgressEndToEndOnPostgres() : ProgressEndToEndTests(StoreKind.Postgres);
