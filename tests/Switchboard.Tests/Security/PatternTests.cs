using Switchboard.Catalog;
using Switchboard.Config;
using Switchboard.Requests;

namespace Switchboard.Tests.Security;

/// <summary>
/// Every validation pattern matches the whole value: a trailing newline, which <c>$</c> lets
/// through, is refused by each (prompt variables, slugs, handler ids, config tables, versions
/// and ids, resource names, request ids), directly and through the endpoints that use them.
/// </summary>
public sealed class PatternTests : IAsyncLifetime
{
    private HostileApp _app = null!;

    public async Task InitializeAsync() => _app = await HostileApp.Start(StoreKind.Sqlite);

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Theory]
    [InlineData("A({topic\n})")]
    [InlineData("A({topic\r\n})")]
    public void APromptVariableWithATrailingNewlineIsNoVariable(string template)
    {
        Assert.False(PromptTemplate.TryParse(template, out _, out var error));
        Assert.Contains("not a variable name", error);
        Assert.True(PromptTemplate.TryParse("A({topic})", out _, out _));
    }

    [Fact]
    public void ConfigNamesWithATrailingNewlineAreRefused()
    {
        Assert.Throws<ConfigException>(() => ConfigStore.CheckTable("configs\n"));
        Assert.Throws<ConfigException>(() => ConfigStore.CheckVersion("1.0\n"));
        Assert.Throws<ConfigException>(() => ConfigStore.CheckId("svc_handlers\n"));
        Assert.Equal("svc_handlers", ConfigStore.CheckId("svc_handlers"));
    }

    [Fact]
    public void AResourceNameWithATrailingNewlineIsRefused()
    {
        var errors = new List<string>();
        ResourceMap.Read(new JsonObject { ["gpu\n"] = new JsonObject { ["max_concurrent"] = 1 } }, errors);
        Assert.Contains(errors, e => e.Contains("a resource name is", StringComparison.Ordinal));
    }

    [Fact]
    public void ARequestIdWithATrailingNewlineIsNoRequestId()
    {
        var id = new string('a', 32);
        Assert.True(RequestEndpoints.IsRequestId(id));
        Assert.False(RequestEndpoints.IsRequestId(id + "\n"));
    }

    [Theory]
    [InlineData("/admin/api/offers/t%0A/a", """{"handler": "echo.render", "price": 1, "prompt_template": "B"}""", "invalid_offer")]
    [InlineData("/admin/api/offers/t/b%0A", """{"handler": "echo.render", "price": 1, "prompt_template": "B"}""", "invalid_offer")]
    [InlineData("/admin/api/offers/t/b", """{"handler": "echo.render", "price": 1, "prompt_template": "B({x\n})"}""", "invalid_offer")]
    [InlineData("/admin/api/handlers/echo.render%0A", """{"credits": 1}""", "invalid_handler")]
    [InlineData("/admin/api/deals/two%0A", """{"offers": [{"offer": "t/a", "pipeline": "none"}]}""", "invalid_deal")]
    public async Task ACatalogNameWithATrailingNewlineIsRefusedByTheAdminApi(string path, string body, string code)
    {
        await _app.Refused(() => _app.Put(_app.Admin, path, body), HttpStatusCode.BadRequest, code);
    }

    [Fact]
    public async Task ACatalogFileWithATrailingNewlineInANameIsRefused()
    {
        var before = _app.State();
        var (exit, _, error) = await Infrastructure.Cli.Run(_app.Dir, "catalog", "apply", WriteCatalog(HostileApp.Catalog.Replace("service: t,", "service: \"t\\n\",")));
        Assert.NotEqual(0, exit);
        Assert.Contains("service", error);
        Assert.Equal(before, _app.State());
    }

    [Fact]
    public async Task ARequestIdWithATrailingNewlineIsAMalformedRequestId()
    {
        var response = await _app.User.GetAsync($"/svc/request/{new string('a', 32)}%0A/");
        await HostileApp.AssertProblem(response, HttpStatusCode.BadRequest, "invalid_request_id");
    }

    private string WriteCatalog(string yaml)
    {
        var path = Path.Combine(_app.Dir.Path, "edge-catalog.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }
}
