using System.Globalization;
using Microsoft.Playwright;
using Switchboard.Catalog;
using Switchboard.Config;
using Switchboard.Tests.Handlers;

namespace Switchboard.Tests.Panel;

/// <summary>
/// A distributed deployment for the handlers and resources pages: PostgreSQL and Redis, the
/// sample plugin in the plugins folder the bootstrap names, an <c>api</c> (the panel) and two
/// executor groups (<c>--handlers echo.*</c> and <c>--handlers sample.*</c>), each handler behind
/// a resource whose daily budget is one call, so that the requests after the first stay queued.
/// </summary>
public sealed class TwoGroupsDeployment : IAsyncLifetime
{
    public const string Admin = "root";
    public const string Secret = "sk-panel-must-not-show";
    public const int EchoRequests = 3;
    public const int SampleRequests = 4;

    private const string Catalog = """
        handlers:
          - {id: echo.render, credits: 1, resource: slowecho}
          - {id: sample.wordcount, credits: 2, resource: slowsample}
        offers:
          - {service: text, action: shout, handler: echo.render, price: 1, prompt_template: "Say {word}"}
          - {service: text, action: count, handler: sample.wordcount, price: 1, prompt_template: "{text}", params: {min_length: 3}}
        """;

    private readonly List<SwitchboardProcess> _processes = [];

    public TestStore Store { get; } = TestStore.Create(StoreKind.Postgres, redis: true);

    public SwitchboardProcess Api { get; private set; } = null!;

    public string Bootstrap { get; private set; } = "";

    /// <summary>Where the plugin's assembly is, as the plugins folder names it (what the panel shows as its origin).</summary>
    public string PluginFile { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var plugins = Path.Combine(Store.Path, "plugins");
        PluginFile = PluginTestFolder.Install(plugins);
        Bootstrap = Store.WriteBootstrap("with-plugins.yaml", "", $"plugins: {{path: '{plugins}'}}", $"fernet_key: {Fernet.GenerateKey()}");
        await Run("catalog", "apply", await Write("catalog.yaml", Catalog));
        await Run("config", "push", await Write("resources.yaml", "resource_map:\n  slowecho: {credits: 1, period: 1d}\n  slowsample: {credits: 2, period: 1d}\n"), "--id", "resource_map");
        // A profile with a secret key: the panel names its host, never the key.
        await Run("config", "push", await Write("handlers.yaml", $"openai:\n  base_url: http://127.0.0.1:9/v1\n  ~api_key: {Secret}\n"), "--id", "svc_handlers");
        await Run("users", "create", Admin, "--admin", "--password", PanelSession.Password);
        var alice = await Infrastructure.Cli.Json(Store, "users", "create", "alice", "--credits", "100");
        Api = await Start("api");
        await Start("executor", "--handlers", "echo.*");
        await Start("executor", "--handlers", "sample.*");
        using var client = Api.Client(alice["api_key"]!.GetValue<string>());
        for (var i = 0; i < EchoRequests; i++)
        {
            Assert.Equal(202, (int)(await client.PostAsJsonAsync("/svc/text/shout/", new { word = $"w{i}" })).StatusCode);
        }
        for (var i = 0; i < SampleRequests; i++)
        {
            Assert.Equal(202, (int)(await client.PostAsJsonAsync("/svc/text/count/", new { text = $"the cat sat {i}" })).StatusCode);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }
        await Store.DisposeAsync();
    }

    /// <summary>Queued requests of <paramref name="handler"/> in the store, as the backlog counts them.</summary>
    public long Queued(string handler) =>
        Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE status = 'queued' AND kind <> 'deal' AND handler = @h", ("@h", handler)));

    private async Task<SwitchboardProcess> Start(string role, params string[] args)
    {
        SwitchboardProcess process;
        try
        {
            process = await SwitchboardProcess.StartRole(Store, role, [.. args, "--config", Bootstrap]);
        }
        catch (TimeoutException)
        {
            // Three processes start one after another on a shared two-core machine: one that was
            // not ready in time (and was stopped) gets one more try before the class fails.
            process = await SwitchboardProcess.StartRole(Store, role, [.. args, "--config", Bootstrap]);
        }
        _processes.Add(process);
        return process;
    }

    private async Task<string> Write(string name, string text)
    {
        var file = Path.Combine(Store.Path, name);
        await File.WriteAllTextAsync(file, text);
        return file;
    }

    private async Task Run(params string[] args)
    {
        var (exit, _, error) = await Infrastructure.Cli.RunArgs([.. args, "--config", Bootstrap]);
        Assert.True(exit == 0, error);
    }
}

/// <summary>
/// The Handlers page shows what the deployment runs: each handler's origin (built in, or the
/// plugin's file and version), its endpoint profiles by name and host only, the executor groups
/// with their executors and a backlog equal to the queued requests in the store; the Resources
/// page the handlers on each resource and their queue. Hostile values typed into the handler
/// form come back as text, and a POST without the form's token changes nothing.
/// </summary>
public sealed class HandlersPageBrowserTests(Chromium chromium, TwoGroupsDeployment deployment)
    : IClassFixture<Chromium>, IClassFixture<TwoGroupsDeployment>
{
    private CatalogSnapshot Stored => deployment.Store.Query(CatalogStore.Load);

    private Task<IPage> AdminPage() => PanelSession.AdminPage(chromium, deployment.Api, TwoGroupsDeployment.Admin);

    /// <summary>Waits until each handler's queue holds all but the one request its resource's budget let through (the rest wait a day).</summary>
    private async Task Settled()
    {
        await Wait.Until(() => deployment.Queued("echo.render") == TwoGroupsDeployment.EchoRequests - 1
                && deployment.Queued("sample.wordcount") == TwoGroupsDeployment.SampleRequests - 1,
            TimeSpan.FromSeconds(30), () => $"the queues to settle: echo.render {deployment.Queued("echo.render")}, sample.wordcount {deployment.Queued("sample.wordcount")}");
    }

    [Fact]
    public async Task EachGroupsBacklogIsTheQueuedRequestsOfItsHandlersAndEachHandlerShowsItsOrigin()
    {
        await Settled();
        var page = await AdminPage();
        await Chromium.Scenario(page, nameof(EachGroupsBacklogIsTheQueuedRequestsOfItsHandlersAndEachHandlerShowsItsOrigin), async () =>
        {
            // Both executors beat within a few seconds of starting; the page reads the registry each time.
            var groups = page.Locator("[data-test=groups] [data-group]");
            await Wait.Until(async () =>
            {
                await page.GotoAsync("/admin/handlers");
                return await groups.CountAsync() == 2;
            }, TimeSpan.FromSeconds(20), "both executor groups on the page");

            var echo = page.Locator("[data-group='echo.*']");
            var sample = page.Locator("[data-group='sample.*']");
            Assert.Equal(deployment.Queued("echo.render").ToString(CultureInfo.InvariantCulture), await echo.Locator("[data-test=backlog]").InnerTextAsync());
            Assert.Equal(deployment.Queued("sample.wordcount").ToString(CultureInfo.InvariantCulture), await sample.Locator("[data-test=backlog]").InnerTextAsync());
            Assert.Equal("2", await echo.Locator("[data-test=backlog]").InnerTextAsync());
            Assert.Equal("3", await sample.Locator("[data-test=backlog]").InnerTextAsync());
            Assert.Equal(1, await echo.Locator("tr[data-executor]").CountAsync());
            Assert.Equal(1, await sample.Locator("tr[data-executor]").CountAsync());
            Assert.Contains("echo.render", await echo.InnerTextAsync());
            Assert.DoesNotContain("sample.wordcount", await echo.InnerTextAsync());
            Assert.Contains("sample.reverse", await sample.InnerTextAsync());
            // Every queued request has a live executor: nothing is listed as unserved.
            Assert.Equal(0, await page.Locator("[data-test=unserved]").CountAsync());

            // Where each handler comes from, as `switchboard handlers list` says it.
            var plugin = await page.Locator("tr[data-installed='sample.wordcount'] [data-test=origin]").InnerTextAsync();
            Assert.Contains("plugin", plugin);
            Assert.Contains(deployment.PluginFile, plugin);
            Assert.Contains("built in", await page.Locator("tr[data-installed='echo.render'] [data-test=origin]").InnerTextAsync());
            Assert.Equal("2", await page.Locator("tr[data-installed='echo.render'] [data-test=queued]").InnerTextAsync());
            Assert.Contains("not configured", await page.Locator("tr[data-installed='sample.reverse']").InnerTextAsync());
            // The endpoint profile by name and host; its key never.
            var chat = await page.Locator("tr[data-installed='openai.chat']").InnerTextAsync();
            Assert.Contains("default", chat);
            Assert.Contains("127.0.0.1:9", chat);
            Assert.DoesNotContain(TwoGroupsDeployment.Secret, await page.ContentAsync());
            Assert.DoesNotContain("gAAAAA", await page.ContentAsync());
            await PanelSession.Screenshot(page, "handlers-deployment");
        });
    }

    [Fact]
    public async Task TheResourcesPageShowsTheHandlersOnEachResourceAndTheirQueue()
    {
        await Settled();
        var page = await AdminPage();
        await Chromium.Scenario(page, nameof(TheResourcesPageShowsTheHandlersOnEachResourceAndTheirQueue), async () =>
        {
            await page.GotoAsync("/admin/resources");
            var echo = await page.Locator("[data-resource=slowecho] [data-test=queued]").InnerTextAsync();
            Assert.Contains("echo.render", echo);
            Assert.Contains($"{deployment.Queued("echo.render")} queued", echo);
            var sample = await page.Locator("[data-resource=slowsample] [data-test=queued]").InnerTextAsync();
            Assert.Contains("sample.wordcount", sample);
            Assert.Contains($"{deployment.Queued("sample.wordcount")} queued", sample);
            Assert.Contains("1 credits per 1 d", await page.Locator("[data-resource=slowecho]").InnerTextAsync());
            Assert.Equal(1, await page.Locator("[data-resource=slowsample] svg.chart").CountAsync());
            await PanelSession.Screenshot(page, "resources-queued");
        });
    }

    [Fact]
    public async Task HostileValuesTypedIntoTheHandlerFormAreShownAsText()
    {
        const string Img = "<img src=x onerror=alert(1)>";
        const string Script = "<script>alert(2)</script>";
        var page = await AdminPage();
        var dialogs = ScriptDialogs.On(page);
        await Chromium.Scenario(page, nameof(HostileValuesTypedIntoTheHandlerFormAreShownAsText), async () =>
        {
            await page.GotoAsync("/admin/handlers/echo.render");
            await page.FillAsync("input[name=resource]", Img);
            // A number input takes no text in a browser; a hostile client sends it anyway.
            await page.EvalOnSelectorAsync("input[name=credits]", "e => e.type = 'text'");
            await page.FillAsync("input[name=credits]", Script);
            var refused = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("button:has-text('Save')"), r => r.Request.Method == "POST");
            await page.Locator("[data-field-error]").First.WaitForAsync();

            Assert.Equal(400, refused.Status);
            Assert.Equal(Img, await page.InputValueAsync("input[name=resource]"));
            Assert.Equal(0, await page.Locator("main img, main script, .card script").CountAsync());
            Assert.Equal(0, await page.Locator("img").CountAsync());
            Assert.Equal(1, Stored.Handlers["echo.render"].Credits); // Nothing saved.
            Assert.Equal("slowecho", Stored.Handlers["echo.render"].Resource);
            foreach (var path in new[] { "/admin/handlers", "/admin/handlers/echo.render", "/admin/handlers/echo.render/disable", "/admin/handlers/echo.render/delete" })
            {
                await page.GotoAsync(path);
                Assert.Equal(0, await page.Locator("img").CountAsync());
            }
            Assert.Equal(0, dialogs.Count);
            await PanelSession.Screenshot(page, "handler-hostile");
        });
    }

    [Fact]
    public async Task HandlerPostsWithoutTheFormsTokenChangeNothing()
    {
        var page = await AdminPage();
        await Chromium.Scenario(page, nameof(HandlerPostsWithoutTheFormsTokenChangeNothing), async () =>
        {
            // The admin's session cookie goes along; the form's token does not.
            foreach (var (path, field, value) in new[]
            {
                ("/admin/handlers/echo.render/disable", "confirm", "yes"),
                ("/admin/handlers/echo.render", "credits", "7"),
                ("/admin/handlers", "id", "openai.image"),
                ("/admin/handlers/echo.render/delete", "confirm", "yes"),
            })
            {
                var form = page.Context.APIRequest.CreateFormData();
                form.Set(field, value);
                var response = await page.Context.APIRequest.PostAsync(path, new() { Form = form, MaxRedirects = 0 });
                Assert.True(response.Status == 400, $"{path}: {response.Status}");
                Assert.Contains("nothing was changed", await response.TextAsync());
            }
            var echo = Stored.Handlers["echo.render"];
            Assert.True(echo.Enabled);
            Assert.Equal(1, echo.Credits);
            Assert.False(Stored.Handlers.ContainsKey("openai.image"));
        });
    }
}
