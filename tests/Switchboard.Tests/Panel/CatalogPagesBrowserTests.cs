using Microsoft.Playwright;
using Switchboard.Catalog;

namespace Switchboard.Tests.Panel;

/// <summary>
/// One <c>switchboard serve</c> on SQLite for the catalog pages' browser tests: an admin made
/// with the CLI, a client with credits, and a catalog on <c>openai.chat</c> (so that
/// <c>echo.render</c> is left for the handler form to create, whatever order the tests run in).
/// </summary>
public sealed class CatalogPanelServer : PanelServe
{
    public const string Admin = "root";

    private const string Catalog = """
        handlers:
          - {id: openai.chat, credits: 2}
        offers:
          - {service: text, action: outline, handler: openai.chat, price: 3, prompt_template: "Outline {topic}", params: {model: m}}
          - {service: text, action: draft, handler: openai.chat, price: 6, prompt_template: "Draft a {tone} post from {input}", params: {model: m}}
          - {service: image, action: cover, handler: openai.chat, price: 4, prompt_template: "Cover for {topic} in {style}", params: {model: m}}
          - {service: misc, action: toggle, handler: openai.chat, price: 1, prompt_template: "Toggle {x}", params: {model: m}}
          - {service: misc, action: spare, handler: openai.chat, price: 1, prompt_template: "Spare {x}", params: {model: m}}
        """;

    public string Key { get; private set; } = "";

    protected override async Task PrepareAsync()
    {
        await PanelSession.CreateAdmin(Store, Admin);
        await Infrastructure.Cli.ApplyCatalog(Store, Catalog);
        (_, Key) = await Infrastructure.Cli.CreateUser(Store, "alice", 1000);
    }
}

/// <summary>
/// The Handlers, Offers and Deals pages in a real browser: forms that refuse bad values beside
/// the field and save nothing, the offer preview, the deal's live quote (the same price as
/// <c>GET /svc/deal/{name}/quote</c>), enable/disable reaching <c>/svc</c>, deletes refused while
/// in use or done through the confirmation page, and hostile catalog values shown as text.
/// </summary>
public sealed class CatalogPagesBrowserTests(Chromium chromium, CatalogPanelServer server) : IClassFixture<Chromium>, IClassFixture<CatalogPanelServer>
{
    private CatalogSnapshot Stored => server.Store.Query(CatalogStore.Load);

    private Task<IPage> AdminPage() => PanelSession.AdminPage(chromium, server.Serve, CatalogPanelServer.Admin);

    /// <summary>Clicks a submit button; returns the response to the POST (before any redirect) once the page it leads to has loaded.</summary>
    internal static async Task<IResponse> Submit(IPage page, string button)
    {
        await MarkStale(page);
        var response = await page.RunAndWaitForResponseAsync(() => page.ClickAsync(button), r => r.Request.Method == "POST");
        await Fresh(page);
        return response;
    }

    /// <summary>Clicks and waits until the page it leads to (<paramref name="url"/>, a glob) has loaded.</summary>
    internal static async Task Follow(IPage page, string selector, string url)
    {
        await MarkStale(page);
        await page.ClickAsync(selector);
        await Chromium.Arrive(page, url);
        await Fresh(page);
    }

    // The panel's pages have no script: the test marks the document it leaves, so that a later
    // step never reads (or clicks in) the old page while the new one is still on its way.
    private static Task MarkStale(IPage page) => page.EvaluateAsync("document.body.dataset.stale = '1'");

    private static Task Fresh(IPage page) => page.Locator("body:not([data-stale])").WaitForAsync();

    private static Task Until(Func<Task<bool>> condition, string what) => Wait.Until(condition, TimeSpan.FromSeconds(15), what);

    [Fact]
    public async Task AHandlerAndAnOfferMadeThroughTheFormsAreCallable()
    {
        var page = await AdminPage();
        await Chromium.Scenario(page, nameof(AHandlerAndAnOfferMadeThroughTheFormsAreCallable), async () =>
        {
            await page.GotoAsync("/admin/handlers");
            // Only what is not configured yet.
            Assert.Equal(["anthropic.messages", "echo.render", "http.json", "openai.embeddings", "openai.image"], await page.Locator("#new select[name=id] option").AllInnerTextsAsync());
            await PanelSession.Screenshot(page, "catalog-handlers-new");
            await page.SelectOptionAsync("#new select[name=id]", "echo.render");
            await page.FillAsync("#new input[name=credits]", "1");
            await Follow(page, "#new button[type=submit]", "**/admin/handlers?done=created");
            Assert.Equal("Created.", await page.Locator(".notice").InnerTextAsync());
            Assert.Contains("enabled", await page.Locator("tr[data-handler='echo.render']").InnerTextAsync());
            await PanelSession.Screenshot(page, "catalog-handlers");

            await page.GotoAsync("/admin/offers/new");
            await page.FillAsync("input[name=service]", "greet");
            await page.FillAsync("input[name=action]", "hello");
            await page.SelectOptionAsync("select[name=handler]", "echo.render");
            await page.FillAsync("input[name=price]", "-5");
            await page.FillAsync("textarea[name=prompt_template]", "Hello {name}, meet {friend}");
            await page.FillAsync("textarea[name=params]", """{"style": "warm"}""");
            var refused = await Submit(page, "button:has-text('Create offer')");

            Assert.Equal(400, refused.Status);
            Assert.Equal("must be >= 0", await page.Locator("[data-field-error=price]").InnerTextAsync());
            Assert.Equal(1, await page.Locator(".field.invalid #f-price").CountAsync());
            Assert.Equal("greet", await page.InputValueAsync("input[name=service]"));
            Assert.Equal("Hello {name}, meet {friend}", await page.InputValueAsync("textarea[name=prompt_template]"));
            Assert.Null(Stored.FindOffer("greet", "hello"));
            await PanelSession.Screenshot(page, "catalog-offer-form-errors");

            await page.FillAsync("input[name=price]", "3");
            var previewed = await Submit(page, "button[name=preview]");

            Assert.Equal(200, previewed.Status);
            Assert.Equal(["name", "friend"], await page.Locator("[data-test=variables] li").AllInnerTextsAsync());
            Assert.Equal("POST /svc/greet/hello/", await page.Locator("[data-test=endpoint]").InnerTextAsync());
            // A preview says what the offer will be once saved: nothing is live yet.
            Assert.Contains("Once saved", await page.Locator(".preview").InnerTextAsync());
            Assert.Null(Stored.FindOffer("greet", "hello"));
            await PanelSession.Screenshot(page, "catalog-offer-preview");

            await Follow(page, "button:has-text('Create offer')", "**/admin/offers/greet/hello?done=created");
            var saved = Stored.FindOffer("greet", "hello")!;
            Assert.Equal(3, saved.Price);
            Assert.Equal("warm", saved.Params["style"]!.GetValue<string>());
            Assert.NotNull(await page.Locator("input[name=service]").GetAttributeAsync("readonly")); // The key of a saved offer.
            await page.GotoAsync("/admin/offers");
            Assert.Contains("live", await page.Locator("tr[data-offer='greet/hello'] [data-test=live]").InnerTextAsync());
            await PanelSession.Screenshot(page, "catalog-offers");
        });

        using var alice = server.Serve.Client(server.Key);
        await Until(async () =>
        {
            var list = await alice.GetFromJsonAsync<JsonObject>("/svc/");
            return list!["services"]!.AsArray().Any(s => s!["name"]!.GetValue<string>() == "greet");
        }, "GET /svc/ listing greet/hello");
        var submitted = await alice.PostAsJsonAsync("/svc/greet/hello/", new { name = "Ann", friend = "Bo" });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var id = (await submitted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();

        // The request the new endpoint sold is on the requests page, and its detail shows what it did.
        await Chromium.Scenario(page, nameof(AHandlerAndAnOfferMadeThroughTheFormsAreCallable) + "-request", async () =>
        {
            await page.GotoAsync("/admin/requests?offer=greet/hello");
            var row = page.Locator($"table[data-test=requests] tbody tr:has(a[href='/admin/requests/{id}'])");
            Assert.Contains("greet/hello", await row.InnerTextAsync());
            Assert.Contains("alice", await row.InnerTextAsync());
            await Until(async () =>
            {
                await page.GotoAsync($"/admin/requests/{id}");
                return (await page.Locator("[data-test=status]").InnerTextAsync()).Contains("succeeded", StringComparison.Ordinal);
            }, "the request succeeding");
            Assert.Contains("Hello Ann, meet Bo", await page.Locator("main").InnerTextAsync());
            await PanelSession.Screenshot(page, "catalog-offer-request");
        });
    }

    [Fact]
    public async Task ADealsPageQuotesAsTheApiDoesWithAndWithoutItsAddOn()
    {
        var page = await AdminPage();
        using var anyone = new HttpClient { BaseAddress = server.Serve.Address };
        await Chromium.Scenario(page, nameof(ADealsPageQuotesAsTheApiDoesWithAndWithoutItsAddOn), async () =>
        {
            await page.GotoAsync("/admin/deals/new");
            await page.FillAsync("input[name=name]", "blog-pack");
            await page.FillAsync("textarea[name=offers]", "text/outline\ntext/drafts overwrite");
            await page.FillAsync("input[name=price_modifier]", "10");
            await page.FillAsync("textarea[name=addons]", "image/cover");
            await page.FillAsync("input[name=addons_modifier]", "50");
            var refused = await Submit(page, "button:has-text('Create deal')");

            Assert.Equal(400, refused.Status);
            Assert.Equal("line 2: unknown offer 'text/drafts'", await page.Locator("[data-field-error=offers]").InnerTextAsync());
            Assert.Null(Stored.FindDeal("blog-pack"));
            await PanelSession.Screenshot(page, "catalog-deal-form-errors");

            await page.FillAsync("textarea[name=offers]", "text/outline\ntext/draft overwrite");
            await Follow(page, "button:has-text('Create deal')", "**/admin/deals/blog-pack?done=created");

            Assert.Equal("POST /svc/deal/blog-pack/", await page.Locator("[data-test=endpoint]").InnerTextAsync());
            Assert.Equal("topic tone", await page.Locator("[data-test=inputs]").InnerTextAsync());
            var plain = await Quote(anyone, "/svc/deal/blog-pack/quote");
            Assert.Equal(plain["price"]!.GetValue<long>().ToString(), await page.Locator("[data-test=quote-total]").InnerTextAsync());
            Assert.Equal("8", await page.Locator("[data-test=quote-total]").InnerTextAsync()); // (3 + 6) less 10%, rounded.

            await page.CheckAsync("[data-test=addons] input[value='image/cover']");
            await Follow(page, "[data-test=addons] button", "**/admin/deals/blog-pack?addons=image%2Fcover");

            var withCover = await Quote(anyone, "/svc/deal/blog-pack/quote?addons=image/cover");
            Assert.Equal(withCover["price"]!.GetValue<long>().ToString(), await page.Locator("[data-test=quote-total]").InnerTextAsync());
            Assert.Equal("10", await page.Locator("[data-test=quote-total]").InnerTextAsync()); // 8 + 4 less 50%.
            Assert.Equal("2", await page.Locator("[data-test=quote-addons]").InnerTextAsync());
            Assert.Equal(withCover["steps"]!.AsArray().Select(s => s!["price"]!.GetValue<long>().ToString()),
                await page.Locator("table.shares tbody td.num:nth-child(5)").AllInnerTextsAsync());
            Assert.Equal("topic tone style", await page.Locator("[data-test=inputs]").InnerTextAsync());
            await PanelSession.Screenshot(page, "catalog-deal-quote");

            await page.GotoAsync("/admin/deals");
            Assert.Contains("live", await page.Locator("tr[data-deal='blog-pack'] [data-test=status]").InnerTextAsync());
            await PanelSession.Screenshot(page, "catalog-deals");
        });
    }

    /// <summary>The API's quote, once the live catalog has the deal.</summary>
    private static async Task<JsonObject> Quote(HttpClient client, string path)
    {
        JsonObject? quote = null;
        await Until(async () =>
        {
            var response = await client.GetAsync(path);
            quote = response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonObject>() : null;
            return quote is not null;
        }, $"GET {path} answering 200");
        return quote!;
    }

    [Fact]
    public async Task DisablingAnOfferTakesItOffTheApiAndEnablingBringsItBack()
    {
        var page = await AdminPage();
        using var alice = server.Serve.Client(server.Key);
        async Task<HttpStatusCode> Call() => (await alice.PostAsJsonAsync("/svc/misc/toggle/", new { x = "1" })).StatusCode;
        await Chromium.Scenario(page, nameof(DisablingAnOfferTakesItOffTheApiAndEnablingBringsItBack), async () =>
        {
            await Until(async () => await Call() != HttpStatusCode.NotFound, "misc/toggle being live");
            await page.GotoAsync("/admin/offers");
            await Follow(page, "tr[data-offer='misc/toggle'] button:has-text('Disable')", "**/admin/offers?done=disabled");

            Assert.Equal("Disabled.", await page.Locator(".notice").InnerTextAsync());
            Assert.Equal("disabled", await page.Locator("tr[data-offer='misc/toggle'] [data-test=status]").InnerTextAsync());
            Assert.Equal("not live", await page.Locator("tr[data-offer='misc/toggle'] [data-test=live]").InnerTextAsync());
            await Until(async () => await Call() == HttpStatusCode.NotFound, "the disabled offer answering 404");

            await Follow(page, "tr[data-offer='misc/toggle'] button:has-text('Enable')", "**/admin/offers?done=enabled");
            Assert.Equal("live", await page.Locator("tr[data-offer='misc/toggle'] [data-test=live]").InnerTextAsync());
            await Until(async () => await Call() != HttpStatusCode.NotFound, "the enabled offer answering again");
        });
    }

    [Fact]
    public async Task AHandlerInUseIsNotDeletedAndAnUnusedOfferIsAfterConfirmation()
    {
        var page = await AdminPage();
        await Chromium.Scenario(page, nameof(AHandlerInUseIsNotDeletedAndAnUnusedOfferIsAfterConfirmation), async () =>
        {
            await page.GotoAsync("/admin/handlers");
            await Follow(page, "tr[data-handler='openai.chat'] a:has-text('Delete')", "**/admin/handlers/openai.chat/delete");

            Assert.Contains("Offers run on it: image/cover, misc/spare", await page.Locator("[data-test=in-use]").InnerTextAsync());
            Assert.Equal(0, await page.Locator("[data-test=confirm]").CountAsync());
            Assert.True(Stored.Handlers.ContainsKey("openai.chat"));
            await PanelSession.Screenshot(page, "catalog-handler-in-use");
            await page.GotoAsync("/admin/handlers/openai.chat");
            Assert.Equal("2", await page.InputValueAsync("input[name=credits]"));
            await PanelSession.Screenshot(page, "catalog-handler-edit");

            await page.GotoAsync("/admin/offers");
            await Follow(page, "tr[data-offer='misc/spare'] a:has-text('Delete')", "**/admin/offers/misc/spare/delete");
            Assert.NotNull(Stored.FindOffer("misc", "spare")); // The confirmation page changes nothing.
            await PanelSession.Screenshot(page, "catalog-offer-delete");
            // The POST itself wants confirm=yes: a form without it deletes nothing.
            await page.EvaluateAsync("document.querySelector('input[name=confirm]').remove()");
            Assert.Equal(400, (await Submit(page, "[data-test=confirm]")).Status);
            Assert.NotNull(Stored.FindOffer("misc", "spare"));
            await page.GotoAsync("/admin/offers/misc/spare/delete");
            await Follow(page, "[data-test=confirm]", "**/admin/offers?done=deleted");

            Assert.Equal("Deleted.", await page.Locator(".notice").InnerTextAsync());
            Assert.Equal(0, await page.Locator("tr[data-offer='misc/spare']").CountAsync());
            Assert.Null(Stored.FindOffer("misc", "spare"));
        });
    }

    [Fact]
    public async Task HostileCatalogValuesAreShownAsText()
    {
        const string Template = "<script>alert(1)</script> {x}";
        const string Img = "<img src=x onerror=alert(2)>";
        var page = await AdminPage();
        var dialogs = ScriptDialogs.On(page);
        await Chromium.Scenario(page, nameof(HostileCatalogValuesAreShownAsText), async () =>
        {
            await page.GotoAsync("/admin/offers/new");
            await page.FillAsync("input[name=service]", "xss");
            await page.FillAsync("input[name=action]", "probe");
            await page.SelectOptionAsync("select[name=handler]", "openai.chat");
            await page.FillAsync("input[name=price]", "1");
            await page.FillAsync("textarea[name=prompt_template]", Template);
            await page.FillAsync("textarea[name=params]", $$"""{"model": "m", "system": "{{Img}}"}""");
            await Submit(page, "button[name=preview]");
            Assert.Equal(["x"], await page.Locator("[data-test=variables] li").AllInnerTextsAsync());
            await Follow(page, "button:has-text('Create offer')", "**/admin/offers/xss/probe?done=created");
            Assert.Equal(Img, Stored.FindOffer("xss", "probe")!.Params["system"]!.GetValue<string>());

            foreach (var path in new[] { "/admin/offers/xss/probe", "/admin/offers", "/admin/handlers/openai.chat" })
            {
                await page.GotoAsync(path);
                Assert.Equal(0, await page.Locator("script").CountAsync());
                Assert.Equal(0, await page.Locator("img").CountAsync());
            }
            await page.GotoAsync("/admin/offers/xss/probe");
            Assert.Equal(Template, await page.InputValueAsync("textarea[name=prompt_template]"));
            Assert.Contains(Img, await page.InputValueAsync("textarea[name=params]"));
            Assert.Equal(0, dialogs.Count);
        });
    }
}
