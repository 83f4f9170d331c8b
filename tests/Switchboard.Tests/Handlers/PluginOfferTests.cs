using Switchboard.Handlers;

namespace Switchboard.Tests.Handlers;

/// <summary>
/// A plugin sells end to end: the sample plugin's build in the folder the bootstrap config names
/// (<c>plugins.path</c>), its handler in the catalog (applied by the CLI, which loads the same
/// folder), a user buys the offer from the whole <c>serve</c>, and the result, usage and charge
/// are the plugin's.
/// </summary>
public abstract class PluginOfferTests(StoreKind kind)
{
    private const string Catalog = """
        handlers:
          - {id: sample.wordcount, credits: 2, resource: words}
          - {id: sample.reverse, credits: 1}
        offers:
          - {service: text, action: count, handler: sample.wordcount, price: 3, prompt_template: "{text}", params: {min_length: 3}}
          - {service: text, action: reverse, handler: sample.reverse, price: 2, prompt_template: "{text}", create_qty: 2, params: {fail_on: stop}}
        """;

    /// <summary>A store with the sample plugin installed, the catalog applied through a bootstrap that names the folder.</summary>
    private static async Task<(TestApp App, string Bootstrap)> StartAsync(StoreKind kind)
    {
        var app = await TestApp.StartAsync(kind);
        var plugins = Path.Combine(app.Store.Path, "plugins");
        PluginTestFolder.Install(plugins);
        var bootstrap = app.Store.WriteBootstrap("with-plugins.yaml", lines: $"plugins: {{path: '{plugins}'}}");
        var catalog = Path.Combine(app.Store.Path, "catalog.yaml");
        await File.WriteAllTextAsync(catalog, Catalog);
        var (exit, _, error) = await Infrastructure.Cli.RunArgs("catalog", "apply", catalog, "--config", bootstrap);
        Assert.True(exit == 0, error);
        app.Settings["Switchboard:Config"] = bootstrap;
        return (app, bootstrap);
    }

    [Fact]
    public async Task AnOfferOfAPluginsHandlerSellsWithItsResultUsageAndPrice()
    {
        var (app, _) = await StartAsync(kind);
        await using var _app = app;
        var alice = await app.AddUserAsync("alice", 100);

        var id = await alice.Client.SubmitAsync("/svc/text/count/", new { text = "the cat sat on the mat, mightily" });
        var done = await alice.Client.WaitForRequest(id, r => r["status"]!.GetValue<string>() is "succeeded" or "failed");

        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        var result = Assert.IsType<JsonObject>(Assert.Single(done["results"]!.AsArray()));
        Assert.Equal(6, result["words"]!.GetValue<int>()); // "on" is under min_length 3
        Assert.Equal(5, result["distinct"]!.GetValue<int>());
        Assert.Equal("mightily", result["longest"]!.GetValue<string>());
        Assert.Equal(6, done["usage"]!["words"]!.GetValue<long>());
        Assert.Equal(97, alice.Balance);
        Assert.Equal(HandlerRegistry.BuiltIn, HandlerRegistry.SourceOf(app.Services.GetRequiredService<HandlerRegistry>().Find("echo.render")!));
    }

    [Fact]
    public async Task APluginsPermanentFailureFailsTheRequestWithItsCodeAndRefundsIt()
    {
        var (app, _) = await StartAsync(kind);
        await using var _app = app;
        var bob = await app.AddUserAsync("bob", 10);

        var reversed = await bob.Client.SubmitAsync("/svc/text/reverse/", new { text = "loop" });
        var refused = await bob.Client.SubmitAsync("/svc/text/reverse/", new { text = "stop" });
        var ok = await bob.Client.WaitForRequest(reversed, r => r["status"]!.GetValue<string>() is "succeeded" or "failed");
        var failed = await bob.Client.WaitForRequest(refused, r => r["status"]!.GetValue<string>() is "succeeded" or "failed");

        Assert.Equal(["pool", "pool"], ok["results"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal("failed", failed["status"]!.GetValue<string>());
        Assert.Equal("reverse_refused", failed["error"]!["code"]!.GetValue<string>());
        Assert.Equal(8, bob.Balance); // the failed one refunded
    }

    [Fact]
    public async Task HandlersListShowsEachHandlersSourceVersionResourceAndInstallation()
    {
        var (app, bootstrap) = await StartAsync(kind);
        await using var _app = app;
        var services = Path.Combine(app.Store.Path, "services.yaml");
        await File.WriteAllTextAsync(services, "installed: [sample]\n");
        var (pushed, _, pushError) = await Infrastructure.Cli.RunArgs("config", "push", services, "--id", "service_map", "--config", bootstrap);
        Assert.True(pushed == 0, pushError);
        var plugin = Path.Combine(app.Store.Path, "plugins", "SampleHandlers", "SampleHandlers.dll");

        var (exit, output, error) = await Infrastructure.Cli.RunArgs("handlers", "list", "--json", "--config", bootstrap);

        Assert.True(exit == 0, error);
        var rows = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToDictionary(r => r["id"]!.GetValue<string>());
        Assert.Equal(
            $$"""{"id":"sample.wordcount","source":"{{plugin}}","version":"1.1.0","resource":"words","resource_limited":false,"in_catalog":true,"installed":true}""",
            rows["sample.wordcount"].ToJsonString());
        Assert.Equal("built-in", rows["echo.render"]["source"]!.GetValue<string>());
        Assert.False(rows["echo.render"]["installed"]!.GetValue<bool>());
        Assert.False(rows["echo.render"]["in_catalog"]!.GetValue<bool>());

        var (tableExit, table, _) = await Infrastructure.Cli.RunArgs("handlers", "list", "--config", bootstrap);

        Assert.Equal(0, tableExit);
        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^ID +SOURCE +VERSION +RESOURCE +INSTALLED$", lines[0]);
        Assert.Matches($@"^sample\.wordcount +{System.Text.RegularExpressions.Regex.Escape(plugin)} +1\.1\.0 +words +yes$", lines.Single(l => l.StartsWith("sample.wordcount", StringComparison.Ordinal)));
        Assert.Matches(@"^echo\.render +built-in +\S+ +\(not in catalog\) +no$", lines.Single(l => l.StartsWith("echo.render", StringComparison.Ordinal)));
    }
}

public sealed class PluginOffersOnSqlite() : PluginOfferTests(StoreKind.Sqlite);

public sealed class PluginOffersOnPostgres() : PluginOfferTests(StoreKind.Postgres);
