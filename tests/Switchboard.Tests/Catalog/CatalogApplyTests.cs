using Switchboard.Catalog;

namespace Switchboard.Tests.Catalog;

public abstract class CatalogApplyTests(StoreKind kind) : AppTests
{
    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(kind);

    private Task<(int Exit, string Out, string Err)> Apply(string yaml) => App.TryApplyCatalogAsync(yaml);

    [Fact]
    public async Task TheExampleCatalogApplies()
    {
        var example = Path.Combine(RepoRoot(), "examples", "catalog.yaml");
        var (exit, output, error) = await App.CliAsync("catalog", "apply", example);

        Assert.True(exit == 0, error);
        Assert.Contains("offer(s)", output);
    }

    [Fact]
    public async Task ApplyingTwiceChangesNothingAndExportRoundTrips()
    {
        var yaml = """
            handlers:
              - {id: echo.render, credits: 2, resource: local}
            offers:
              - service: text
                action: shout
                handler: echo.render
                price: 5
                prompt_template: "Say {word} to {{name}}"
                create_qty: 2
                expiration: 60
                params: {delay_ms: 0, model: "007", ratio: 0.5, tags: [a, b], nested: {on: true}}
            """;
        Assert.Equal(0, (await Apply(yaml)).Exit);
        var first = (await App.CliAsync("catalog", "export")).Out;
        Assert.Equal(0, (await Apply(yaml)).Exit);
        var second = (await App.CliAsync("catalog", "export")).Out;
        Assert.Equal(first, second);

        // The export is itself a catalog that applies, and applying it changes nothing.
        Assert.Equal(0, (await Apply(first)).Exit);
        Assert.Equal(first, (await App.CliAsync("catalog", "export")).Out);
        var offer = App.Query(CatalogStore.Load).FindOffer("text", "shout")!;
        Assert.Equal("007", offer.Params["model"]!.GetValue<string>());
        Assert.Equal(0.5, offer.Params["ratio"]!.GetValue<double>());
        Assert.Equal(["word"], offer.Template.Variables);
        Assert.Equal(60, offer.Expiration);
    }

    [Fact]
    public async Task EveryBadEntryIsNamedAndNothingIsApplied()
    {
        var (exit, _, error) = await Apply("""
            handlers:
              - {id: echo.render, credits: -1}
              - {id: nope.missing, credits: 1}
              - {id: NotAnId, credits: 1}
            offers:
              - {service: text, action: ok, handler: echo.render, price: 1, prompt_template: "fine {x}"}
              - {service: request, action: a, handler: echo.render, price: 1, prompt_template: "x"}
              - {service: Text, action: b, handler: echo.render, price: 1, prompt_template: "x"}
              - {service: text, action: c, handler: ghost.handler, price: 1, prompt_template: "x"}
              - {service: text, action: d, handler: echo.render, price: -5, prompt_template: "x"}
              - {service: text, action: e, handler: echo.render, price: 1, prompt_template: "broken {x"}
              - {service: text, action: f, handler: echo.render, price: 1, prompt_template: "x", create_qty: 0}
              - {service: text, action: g, handler: echo.render, price: 1, prompt_template: "x", colour: red}
              - {service: text, action: ok, handler: echo.render, price: 1, prompt_template: "twice"}
            """);

        Assert.Equal(1, exit);
        Assert.Contains("handlers[0] (echo.render): credits must be >= 0", error);
        Assert.Contains("handlers[1] (nope.missing): id no handler implementation named 'nope.missing'", error);
        Assert.Contains("handlers[2] (NotAnId): id must be <module>.<method>", error);
        Assert.Contains("offers[1] (request/a): service 'request' is reserved", error);
        Assert.Contains("offers[2] (Text/b): service must be a lowercase slug", error);
        Assert.Contains("offers[3] (text/c): handler unknown handler 'ghost.handler'", error);
        Assert.Contains("offers[4] (text/d): price must be >= 0", error);
        Assert.Contains("offers[5] (text/e): prompt_template unclosed '{'", error);
        Assert.Contains("offers[6] (text/f): create_qty must be between 1 and 100", error);
        Assert.Contains("offers[7]: unknown key 'colour'", error);
        Assert.Contains("offers[8] (text/ok): action this service/action appears twice", error);
        Assert.Contains("not applied", error);
        Assert.Empty(App.Query(CatalogStore.Load).Offers);
    }

    [Fact]
    public async Task MalformedYamlIsReportedWithItsLine()
    {
        var (exit, _, error) = await Apply("offers:\n  - {service: text\n");

        Assert.Equal(1, exit);
        Assert.Contains("line ", error);
    }

    [Theory]
    [InlineData("Hello {name}", new[] { "name" })]
    [InlineData("{a}{b}{a}", new[] { "a", "b" })]
    [InlineData("{{literal}} and {real}", new[] { "real" })]
    [InlineData("no variables", new string[0])]
    public void TemplateVariablesAreTheInputs(string template, string[] variables)
    {
        Assert.True(PromptTemplate.TryParse(template, out var parsed, out var error), error);
        Assert.Equal(variables, parsed.Variables);
    }

    [Theory]
    [InlineData("open {")]
    [InlineData("close }")]
    [InlineData("{not a name}")]
    [InlineData("{}")]
    public void MalformedTemplatesAreRejected(string template) =>
        Assert.False(PromptTemplate.TryParse(template, out _, out _));

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Switchboard.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new DirectoryNotFoundException("repository root not found");
    }
}

public sealed class CatalogApplyOnSqlite() : CatalogApplyTests(StoreKind.Sqlite);

public sealed class CatalogApplyOnPostgres() : CatalogApplyTests(StoreKind.Postgres);
