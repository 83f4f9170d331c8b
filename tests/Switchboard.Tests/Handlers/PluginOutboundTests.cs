using Microsoft.AspNetCore.Builder;
using Switchboard.Handlers;
using Switchboard.Handlers.Plugins;

namespace Switchboard.Tests.Handlers;

/// <summary>
/// A plugin's handler that takes an <see cref="HttpClient"/> gets the outbound guard's (tests/ProbePlugin):
/// it reaches a fake upstream on 127.0.0.1 when the process allows loopback, and is refused before
/// connecting when it does not. And a plugin whose handler misbehaves at construction is refused.
/// </summary>
public sealed class PluginOutboundTests
{
    private const string Catalog = """
        handlers:
          - {id: probe.fetch, credits: 1}
        offers:
          - {service: probe, action: fetch, handler: probe.fetch, price: 4, prompt_template: "fetch {what}"}
        """;

    private static async Task<(TestApp App, Upstream Upstream)> StartAsync(bool allowLoopback)
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        var upstream = app.Own(await Upstream.StartAsync());
        var plugins = Path.Combine(app.Store.Path, "plugins");
        PluginTestFolder.Install(plugins, PluginTestFolder.Probe, PluginTestFolder.Probe);
        var bootstrap = app.Store.WriteBootstrap("with-plugins.yaml", lines: $"plugins: {{path: '{plugins}'}}");
        var catalog = Path.Combine(app.Store.Path, "catalog.yaml");
        await File.WriteAllTextAsync(catalog, Catalog);
        var config = Path.Combine(app.Store.Path, "handlers.yaml");
        await File.WriteAllTextAsync(config, $"probe:\n  base_url: {upstream.Url}\n");
        foreach (var command in new[] { new[] { "catalog", "apply", catalog }, ["config", "push", config, "--id", "svc_handlers"] })
        {
            var (exit, _, error) = await Infrastructure.Cli.RunArgs([.. command, "--config", bootstrap]);
            Assert.True(exit == 0, error);
        }
        app.Settings["Switchboard:Config"] = bootstrap;
        app.Settings["Switchboard:Outbound:AllowLoopback"] = allowLoopback ? "true" : "false";
        return (app, upstream);
    }

    [Fact]
    public async Task APluginsHttpClientReachesAnAllowedUpstream()
    {
        var (app, upstream) = await StartAsync(allowLoopback: true);
        await using var _app = app;
        var alice = await app.AddUserAsync("alice", 10);

        var id = await alice.Client.SubmitAsync("/svc/probe/fetch/", new { what = "x" });
        var done = await alice.Client.WaitForRequest(id, r => r["status"]!.GetValue<string>() is "succeeded" or "failed");

        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal("hello from upstream", Assert.Single(done["results"]!.AsArray())!.GetValue<string>());
        Assert.Equal(1, upstream.Calls);
        Assert.Equal(6, alice.Balance);
    }

    [Fact]
    public async Task APluginsHttpClientIsRefusedLoopbackWhenTheProcessRefusesIt()
    {
        var (app, upstream) = await StartAsync(allowLoopback: false);
        await using var _app = app;
        var alice = await app.AddUserAsync("alice", 10);

        var id = await alice.Client.SubmitAsync("/svc/probe/fetch/", new { what = "x" });
        var done = await alice.Client.WaitForRequest(id, r => r["status"]!.GetValue<string>() is "succeeded" or "failed");

        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Equal("probe_unreachable", done["error"]!["code"]!.GetValue<string>());
        Assert.Equal(0, upstream.Calls); // refused before connecting
        Assert.Equal(10, alice.Balance);
    }

    [Theory]
    [InlineData("throw", "ProbePlugin.FetchHandler failed to construct: InvalidOperationException: the probe was told to fail")]
    [InlineData("bad-id", "ProbePlugin.FetchHandler has the id 'Probe.Fetch': a handler id is <module>.<method> in lowercase")]
    public void APluginWhoseHandlerMisbehavesAtConstructionIsRefusedNamingTheFile(string mode, string problem)
    {
        var folder = Path.Combine(Path.GetTempPath(), "switchboard-tests", "plugins-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var file = PluginTestFolder.Install(folder, "probe", PluginTestFolder.Probe);
            File.WriteAllText(Path.Combine(folder, "probe", "mode.txt"), mode);

            var refused = Assert.Throws<PluginException>(() => new ServiceCollection().AddHandlers(new PluginFolder(folder, Named: true)));

            Assert.StartsWith($"handler plugin {file}: {problem}", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A fake upstream on 127.0.0.1: <c>GET /hello</c> answers a text and counts.</summary>
    private sealed class Upstream : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _calls;

        private Upstream(WebApplication app) => _app = app;

        public string Url => _app.Urls.First();

        public int Calls => Volatile.Read(ref _calls);

        public static async Task<Upstream> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var upstream = new Upstream(app);
            app.MapGet("/hello", () =>
            {
                Interlocked.Increment(ref upstream._calls);
                return "hello from upstream";
            });
            await app.StartAsync();
            return upstream;
        }

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }
}
