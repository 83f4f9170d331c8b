using Microsoft.Playwright;
using Switchboard.Catalog;
using static Switchboard.Tests.Panel.CatalogPagesBrowserTests;

namespace Switchboard.Tests.Panel;

/// <summary>
/// The offer and deal forms with a hostile value in every kind of field (text, textarea, number,
/// select, checkbox): each shown back as text, no script run, nothing saved; deal forms posted
/// without their antiforgery token; a deal disabled, enabled and deleted through its pages.
/// </summary>
public sealed class OfferAndDealFormsBrowserTests(Chromium chromium, CatalogPanelServer server) : IClassFixture<Chromium>, IClassFixture<CatalogPanelServer>
{
    private const string Img = "<img src=x onerror=alert(1)>";
    private const string Script = "<script>alert(2)</script>";

    private CatalogSnapshot Stored => server.Store.Query(CatalogStore.Load);

    private Task<IPage> AdminPage() => PanelSession.AdminPage(chromium, server.Serve, CatalogPanelServer.Admin);

    /// <summary>
    /// Sets a field to a value the browser's own checks would not send: a number input becomes a
    /// text input, a select gets the value as an option, a ticked checkbox sends it instead of "true".
    /// </summary>
    private static Task Force(IPage page, string name, string value) => page.EvaluateAsync("""
        ([name, value]) => {
          const field = document.querySelector(`form.form [name="${name}"]`);
          if (field.tagName === 'SELECT') { field.add(new Option(value, value)); }
          else if (field.type === 'checkbox') { field.checked = true; }
          else if (field.type === 'number') { field.type = 'text'; }
          field.value = value;
        }
        """, new[] { name, value });

    private static async Task ForceAll(IPage page, Dictionary<string, string> values)
    {
        foreach (var (name, value) in values)
        {
            await Force(page, name, value);
        }
    }

    /// <summary>No element the hostile values would have made, and no dialog opened by one.</summary>
    private static async Task NothingRan(IPage page, ScriptDialogs dialogs)
    {
        Assert.Equal(0, await page.Locator("main img").CountAsync());
        Assert.Equal(0, await page.Locator("main script").CountAsync());
        Assert.Equal(0, dialogs.Count);
    }

    [Fact]
    public async Task HostileValuesInEveryOfferFieldAreShownBackAsTextAndNothingIsSaved()
    {
        var page = await AdminPage();
        var dialogs = ScriptDialogs.On(page);
        var values = new Dictionary<string, string>
        {
            ["service"] = Img, ["action"] = Script, ["handler"] = Img + "h", ["price"] = Script + "1", ["prompt_template"] = $"{Script} {{x}} {Img}",
            ["create_qty"] = Img + "2", ["expiration"] = Script + "3", ["params"] = Img, ["enabled"] = Script,
        };
        var offers = Stored.Offers.Count;
        await Chromium.Scenario(page, nameof(HostileValuesInEveryOfferFieldAreShownBackAsTextAndNothingIsSaved), async () =>
        {
            await page.GotoAsync("/admin/offers/new");
            await ForceAll(page, values);
            var refused = await Submit(page, "button:has-text('Create offer')");

            Assert.Equal(400, refused.Status);
            await NothingRan(page, dialogs);
            Assert.Equal(Img, await page.InputValueAsync("input[name=service]"));
            Assert.Equal(Script, await page.InputValueAsync("input[name=action]"));
            Assert.Equal(values["prompt_template"], await page.InputValueAsync("textarea[name=prompt_template]"));
            Assert.Equal(Img, await page.InputValueAsync("textarea[name=params]"));
            // A number input drops text from its value; the attribute the server wrote keeps it.
            Assert.Equal(values["price"], await page.Locator("input[name=price]").GetAttributeAsync("value"));
            Assert.Equal(values["create_qty"], await page.Locator("input[name=create_qty]").GetAttributeAsync("value"));
            Assert.Equal(values["expiration"], await page.Locator("input[name=expiration]").GetAttributeAsync("value"));
            // The unknown handler is offered back under its own text; the checkbox did not take "<script>…" for "true".
            Assert.Equal(Img + "h", await page.InputValueAsync("select[name=handler]"));
            Assert.Equal(Img + "h (unknown)", await page.Locator("select[name=handler] option:checked").InnerTextAsync());
            Assert.False(await page.IsCheckedAsync("input[name=enabled]"));
            Assert.Contains("is not valid JSON", await page.Locator("[data-field-error=params]").InnerTextAsync());
            Assert.True(await page.Locator("[data-field-error]").CountAsync() >= 3, "the refused fields are marked");
            await PanelSession.Screenshot(page, "catalog-offer-hostile");

            await ForceAll(page, values);
            var previewed = await Submit(page, "button[name=preview]");

            Assert.Equal(200, previewed.Status);
            await NothingRan(page, dialogs);
            Assert.Equal($"POST /svc/{Img}/{Script}/", await page.Locator("[data-test=endpoint]").InnerTextAsync());
            Assert.Equal(["x"], await page.Locator("[data-test=variables] li").AllInnerTextsAsync());
            Assert.Contains("no such handler", await page.Locator("[data-test=once-saved]").InnerTextAsync());
        });
        Assert.Equal(offers, Stored.Offers.Count);
    }

    [Fact]
    public async Task HostileValuesInEveryDealFieldAreShownBackAsTextAndNothingIsSaved()
    {
        var page = await AdminPage();
        var dialogs = ScriptDialogs.On(page);
        var values = new Dictionary<string, string>
        {
            ["name"] = Img, ["offers"] = $"{Img} overwrite\n{Script}", ["price"] = Script, ["price_modifier"] = Img,
            ["addons"] = $"text/outline {Img}", ["addons_modifier"] = Script + "9", ["enabled"] = Img,
        };
        await Chromium.Scenario(page, nameof(HostileValuesInEveryDealFieldAreShownBackAsTextAndNothingIsSaved), async () =>
        {
            await page.GotoAsync("/admin/deals/new");
            await ForceAll(page, values);
            var refused = await Submit(page, "button:has-text('Create deal')");

            Assert.Equal(400, refused.Status);
            await NothingRan(page, dialogs);
            Assert.Equal(Img, await page.InputValueAsync("input[name=name]"));
            Assert.Equal(values["offers"], await page.InputValueAsync("textarea[name=offers]"));
            Assert.Equal(values["addons"], await page.InputValueAsync("textarea[name=addons]"));
            Assert.Equal(Script, await page.Locator("input[name=price]").GetAttributeAsync("value"));
            Assert.Equal(Img, await page.Locator("input[name=price_modifier]").GetAttributeAsync("value"));
            Assert.Equal(values["addons_modifier"], await page.Locator("input[name=addons_modifier]").GetAttributeAsync("value"));
            Assert.False(await page.IsCheckedAsync("input[name=enabled]"));
            Assert.True(await page.Locator("[data-field-error]").CountAsync() >= 2, "the refused fields are marked");
            await PanelSession.Screenshot(page, "catalog-deal-hostile");
        });
        Assert.DoesNotContain(Stored.Deals, d => d.Name.Contains('<', StringComparison.Ordinal));
    }

    /// <summary>Creates a deal of text/outline through the form.</summary>
    private static async Task CreateDeal(IPage page, string name)
    {
        await page.GotoAsync("/admin/deals/new");
        await page.FillAsync("input[name=name]", name);
        await page.FillAsync("textarea[name=offers]", "text/outline");
        await page.FillAsync("input[name=price]", "2");
        await Follow(page, "button:has-text('Create deal')", $"**/admin/deals/{name}?done=created");
    }

    [Fact]
    public async Task ADealFormPostedWithoutItsAntiforgeryTokenChangesNothing()
    {
        var page = await AdminPage();
        await Chromium.Scenario(page, nameof(ADealFormPostedWithoutItsAntiforgeryTokenChangesNothing), async () =>
        {
            await CreateDeal(page, "forgery-target");
            (string Path, Dictionary<string, string> Fields)[] posts =
            [
                ("/admin/deals/new", new() { ["name"] = "forged", ["offers"] = "text/outline", ["enabled"] = "true" }),
                ("/admin/deals/forgery-target", new() { ["offers"] = "text/outline", ["price"] = "99", ["enabled"] = "true" }),
                ("/admin/deals/forgery-target/disable", new()),
                ("/admin/deals/forgery-target/delete", new() { ["confirm"] = "yes" }),
            ];
            foreach (var (path, fields) in posts)
            {
                // The browser's cookies (the admin's session) go along; the form's token does not.
                var form = page.Context.APIRequest.CreateFormData();
                foreach (var (name, value) in fields)
                {
                    form.Set(name, value);
                }
                var response = await page.Context.APIRequest.PostAsync(path, new() { Form = form, MaxRedirects = 0 });
                Assert.True(response.Status == 400, $"{path}: {response.Status}");
                Assert.Contains("nothing was changed", await response.TextAsync());
            }
            Assert.Null(Stored.FindDeal("forged"));
            var kept = Stored.FindDeal("forgery-target")!;
            Assert.True(kept.Enabled);
            Assert.Equal(2, kept.Price);
        });
    }

    [Fact]
    public async Task ADealIsDisabledEnabledAndDeletedThroughItsPages()
    {
        var page = await AdminPage();
        await Chromium.Scenario(page, nameof(ADealIsDisabledEnabledAndDeletedThroughItsPages), async () =>
        {
            await CreateDeal(page, "trio");
            await page.GotoAsync("/admin/deals");
            await Follow(page, "tr[data-deal='trio'] button:has-text('Disable')", "**/admin/deals?done=disabled");
            Assert.Equal("Disabled.", await page.Locator(".notice").InnerTextAsync());
            Assert.Contains("disabled", await page.Locator("tr[data-deal='trio'] [data-test=status]").InnerTextAsync());
            Assert.False(Stored.FindDeal("trio")!.Enabled);

            // The action's URL shows its one button; the GET changes nothing.
            await page.GotoAsync("/admin/deals/trio/enable");
            Assert.False(Stored.FindDeal("trio")!.Enabled);
            await PanelSession.Screenshot(page, "catalog-deal-enable");
            await Follow(page, "[data-test=switch]", "**/admin/deals?done=enabled");
            Assert.True(Stored.FindDeal("trio")!.Enabled);

            await Follow(page, "tr[data-deal='trio'] a:has-text('Delete')", "**/admin/deals/trio/delete");
            await PanelSession.Screenshot(page, "catalog-deal-delete");
            await page.EvaluateAsync("document.querySelector('input[name=confirm]').remove()");
            Assert.Equal(400, (await Submit(page, "[data-test=confirm]")).Status);
            Assert.Contains("Nothing was deleted", await page.Locator("[data-test=not-confirmed]").InnerTextAsync());
            Assert.NotNull(Stored.FindDeal("trio"));

            await Follow(page, "[data-test=confirm]", "**/admin/deals?done=deleted");
            Assert.Equal(0, await page.Locator("tr[data-deal='trio']").CountAsync());
            Assert.Null(Stored.FindDeal("trio"));
            foreach (var path in new[] { "/admin/deals/trio", "/admin/deals/trio/delete", "/admin/deals/trio/enable" })
            {
                var gone = await page.GotoAsync(path);
                Assert.Equal(404, gone!.Status);
                Assert.Contains("There is no deal 'trio'.", await page.Locator("main").InnerTextAsync());
            }
        });
    }
}
