using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Switchboard.Catalog;
using Switchboard.Deals;
using Switchboard.Storage;
using static Switchboard.Admin.Panel.PanelForms;
using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>
/// Deals: every deal with its items, price rule and add-ons; a form to create or edit one (items
/// as lines of "service/action mode"); beside it the deal's endpoint, inputs and its price with a
/// choice of add-ons, quoted by <see cref="DealPricing"/> as <c>GET /svc/deal/{name}/quote</c>
/// quotes it; enable, disable, delete. Every change goes through <see cref="CatalogEdits"/>.
/// </summary>
public static partial class DealsPage
{
    private static readonly string[] Fields = ["name", "offers", "price", "price_modifier", "addons", "addons_modifier", "enabled"];

    private sealed record Values(string Name, string Offers, string Price, string PriceModifier, string Addons, string AddonsModifier, bool Enabled)
    {
        public static Values Empty { get; } = new("", "", "", "0", "", "0", true);

        public static Values Of(DealEntry d) => new(d.Name, Lines(d.Offers), d.Price is { } p ? Str(p) : "", Str(d.PriceModifier), Lines(d.Addons), Str(d.AddonsModifier), d.Enabled);

        public static Values Of(IFormCollection f) => new(f["name"].ToString().Trim(), f["offers"].ToString(), f["price"].ToString(), f["price_modifier"].ToString(),
            f["addons"].ToString(), f["addons_modifier"].ToString(), f["enabled"] == "true");

        private static string Lines(IEnumerable<DealItem> items) => string.Join("\n", items.Select(i => $"{i.Offer} {i.Pipeline}"));

        private static string Str(int n) => n.ToString(CultureInfo.InvariantCulture);
    }

    public static RouteGroupBuilder MapDealsPage(this RouteGroupBuilder panel)
    {
        panel.MapGet("/deals", List);
        panel.MapGet("/deals/new", (HttpContext http, Store store) => FormPage(http, store, null, Values.Empty, null, 200));
        panel.MapPost("/deals/new", Create);
        panel.MapGet("/deals/{name}", Edit);
        panel.MapPost("/deals/{name}", Save);
        panel.MapPost("/deals/{name}/enable", (HttpContext http, string name, Store store) => Enable(http, name, store, true));
        panel.MapPost("/deals/{name}/disable", (HttpContext http, string name, Store store) => Enable(http, name, store, false));
        panel.MapGet("/deals/{name}/delete", ConfirmDelete);
        panel.MapPost("/deals/{name}/delete", Delete);
        return panel;
    }

    private static CatalogSnapshot Stored(Store store)
    {
        using var connection = store.Open();
        return CatalogStore.Load(connection);
    }

    private static string Path(string name) => $"/admin/deals/{Uri.EscapeDataString(name)}";

    private static string Items(IEnumerable<DealItem> items) =>
        string.Join("<br>", items.Select(i => $"<code>{E(i.Offer)}</code>{(i.Pipeline == Pipeline.None ? "" : $" <small class=\"muted\">{E(i.Pipeline)}</small>")}"));

    private static string Rule(DealEntry d) =>
        d.Price is { } fixedPrice ? $"fixed {fixedPrice}" : d.PriceModifier > 0 ? $"list − {d.PriceModifier}%" : "list price";

    private static IResult List(HttpContext http, Store store)
    {
        var catalog = Stored(store);
        var rows = new StringBuilder();
        foreach (var d in catalog.Deals)
        {
            var path = Path(d.Name);
            var quoted = d.Offers.All(i => catalog.FindOffer(i) is not null) ? DealPricing.Quote(catalog, d, [], new()) : null;
            rows.Append($"""
                <tr data-deal="{E(d.Name)}"><td><a href="{E(path)}">{E(d.Name)}</a></td><td><code>{E(d.Path)}</code></td>
                <td>{Items(d.Offers)}</td>
                <td>{E(Rule(d))}{(quoted is null ? "" : $" <span class=\"muted\">= {E(quoted.Price)}</span>")}</td>
                <td>{(d.Addons.Count == 0 ? "<span class=\"muted\">–</span>" : Items(d.Addons) + (d.AddonsModifier > 0 ? $"<br><small class=\"muted\">− {E(d.AddonsModifier)}%</small>" : ""))}</td>
                <td data-test="status">{Badge(d.Enabled ? "enabled" : "disabled")} {(catalog.IsLive(d) ? Badge("live") : Badge("not live", "bad"))}</td>
                <td><div class="row-actions"><a class="btn ghost small" href="{E(path)}">Edit</a>
                {(d.Enabled ? Button(http, path + "/disable", "Disable") : Button(http, path + "/enable", "Enable"))}
                {DangerLink(path + "/delete", "Delete")}</div></td></tr>
                """);
        }
        if (catalog.Deals.Count == 0)
        {
            rows.Append(EmptyRow(7, "No deals yet."));
        }
        return Frame(http, "Deals", $"""
            <section class="card"><div class="card-head"><h2>Deals</h2><span class="muted">bundles of offers at one price; live = enabled and every item live</span></div>
            <table><thead><tr><th>Name</th><th>Endpoint</th><th>Items</th><th>Price rule</th><th>Add-ons</th><th>Status</th><th></th></tr></thead>
            <tbody>{rows}</tbody></table></section>
            """, actions: """<a class="btn primary" href="/admin/deals/new">New deal</a>""");
    }

    private static IResult Edit(HttpContext http, string name, Store store) =>
        Stored(store).FindDeal(name) is { } deal
            ? FormPage(http, store, deal, Values.Of(deal), null, 200)
            : NotFound(http, "No such deal", $"There is no deal '{name}'.", "/admin/deals");

    private static IResult FormPage(HttpContext http, Store store, DealEntry? existing, Values v, Dictionary<string, List<string>>? errors, int status)
    {
        var isNew = existing is null;
        var action = isNew ? "/admin/deals/new" : Path(existing!.Name);
        const string lineHint = "one offer per line: service/action mode (mode: none, overwrite, extend, pass_through; none when left out)";
        var form = $"""
            {FormErrors(errors)}
            <form method="post" action="{E(action)}" class="form" novalidate>{Token(http)}
            <div class="wide">{Field("Name", "name", v.Name, errors, isNew ? "lowercase slug; the endpoint is /svc/deal/NAME/" : "the key: it cannot be changed", extra: isNew ? "required" : "readonly")}</div>
            <div class="wide">{Field("Items", "offers", v.Offers, errors, lineHint, "textarea", "rows=\"4\"")}</div>
            {Field("Fixed price", "price", v.Price, errors, "empty: the items' list prices, less the modifier", "number", "min=\"0\" step=\"1\"")}
            {Field("Price modifier (% off)", "price_modifier", v.PriceModifier, errors, "0 to 100; 0 with a fixed price", "number", "min=\"0\" max=\"100\" step=\"1\"")}
            <div class="wide">{Field("Add-ons", "addons", v.Addons, errors, "optional offers a client may choose, same format", "textarea", "rows=\"3\"")}</div>
            {Field("Add-ons modifier (% off)", "addons_modifier", v.AddonsModifier, errors, "0 to 100, off the chosen add-ons' list prices", "number", "min=\"0\" max=\"100\" step=\"1\"")}
            {Check("Enabled", "enabled", v.Enabled)}
            <div class="actions wide"><button class="btn primary" type="submit">{(isNew ? "Create deal" : "Save")}</button><a class="btn ghost" href="/admin/deals">Cancel</a></div>
            </form>
            """;
        var side = existing is null
            ? """<section class="card"><h2>Price quote</h2><p class="muted">Save the deal to see its endpoint, inputs and price.</p></section>"""
            : QuotePanel(http, Stored(store), existing);
        return Frame(http, isNew ? "New deal" : $"Deal {existing!.Name}", $"""
            <div class="catalog-split">
            <section class="card"><h2>{(isNew ? "New deal" : "Edit deal")}</h2>{form}</section>
            {side}
            </div>
            """, status);
    }

    /// <summary>The stored deal's endpoint, inputs and price for the add-ons chosen in the query (<c>?addons=a/b</c>), by <see cref="DealPricing"/>.</summary>
    private static string QuotePanel(HttpContext http, CatalogSnapshot catalog, DealEntry deal)
    {
        var html = new StringBuilder("""<section class="card deal-quote"><h2>Endpoint and price</h2>""");
        var missing = deal.Offers.Where(i => catalog.FindOffer(i) is null).Select(i => i.Offer).ToList();
        if (missing.Count > 0)
        {
            return html.Append($"""<p class="alert" role="alert">{E($"Its items {string.Join(", ", missing)} are not in the catalog: it cannot be priced.")}</p></section>""").ToString();
        }
        var chosen = DealQuoteEndpoint.Addons(http.Request.Query["addons"]);
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        var quote = DealPricing.Quote(catalog, deal, chosen, errors);
        var items = deal.Offers.Concat(deal.Addons.Where(a => quote?.ChosenAddons.Contains(a.Offer) == true)).Select(i => (i, catalog.FindOffer(i)!));
        var inputs = DealInputs.Of(items);
        html.Append($"""
            <dl class="kv"><dt>Endpoint</dt><dd><code data-test="endpoint">POST {E(deal.Path)}</code></dd>
            <dt>Inputs</dt><dd data-test="inputs">{(inputs.Count == 0 ? "<span class=\"muted\">none</span>" : string.Join(" ", inputs.Select(n => $"<code>{E(n)}</code>")))}</dd>
            <dt>Live</dt><dd>{(catalog.IsLive(deal) ? Badge("live") : Badge("not live", "bad") + " <span class=\"muted\">/svc answers 404 unknown_deal</span>")}</dd></dl>
            """);
        if (deal.Addons.Count > 0)
        {
            html.Append($"""<form method="get" action="{E(Path(deal.Name))}" class="addons" data-test="addons"><b>Add-ons</b>""");
            foreach (var a in deal.Addons)
            {
                var offer = catalog.FindOffer(a);
                html.Append($"""<label><input type="checkbox" name="addons" value="{E(a.Offer)}"{(chosen.Contains(a.Offer) ? " checked" : "")}> <code>{E(a.Offer)}</code> <span class="muted">{(offer is null ? "missing" : $"+{offer.Price} list")}{(catalog.IsLive(a) ? "" : ", not available")}</span></label>""");
            }
            html.Append("""<button class="btn ghost small" type="submit">Quote</button></form>""");
        }
        if (quote is null)
        {
            html.Append($"""<p class="alert" role="alert" data-test="quote-errors">{string.Join("<br>", errors.Select(e => E($"{e.Key} {e.Value}")))}</p>""");
            return html.Append("</section>").ToString();
        }
        html.Append($"""
            <dl class="kv quote" data-test="quote">
            <dt>Items</dt><dd>{E(quote.PrimaryList)} list → <b data-test="quote-primary">{E(quote.PrimaryPrice)}</b> <span class="muted">({E(Rule(deal))})</span></dd>
            <dt>Add-ons</dt><dd>{E(quote.AddonsList)} list → <b data-test="quote-addons">{E(quote.AddonsPrice)}</b> <span class="muted">(− {E(deal.AddonsModifier)}%)</span></dd>
            <dt>Total</dt><dd><b class="total" data-test="quote-total">{E(quote.Price)}</b> credits</dd></dl>
            <table class="shares"><thead><tr><th>Step</th><th>Offer</th><th>Mode</th><th class="num">List</th><th class="num">Share</th></tr></thead><tbody>
            """);
        foreach (var i in quote.Items)
        {
            html.Append($"""<tr><td>{E(i.Step + 1)}</td><td><code>{E(i.Item.Offer)}</code>{(i.Addon ? " " + Badge("add-on", "info") : "")}</td><td>{E(i.Item.Pipeline)}</td><td class="num">{E(i.ListPrice)}</td><td class="num">{E(i.Share)}</td></tr>""");
        }
        return html.Append("""</tbody></table><p class="muted">A step's share is refunded when it fails or never runs.</p></section>""").ToString();
    }

    /// <summary>The item lines of a textarea as the catalog's <c>[{offer, pipeline}]</c>.</summary>
    private static JsonArray ItemsOf(string text)
    {
        var items = new JsonArray();
        foreach (var line in text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            items.Add(words switch
            {
                [var offer] => new JsonObject { ["offer"] = offer },
                [var offer, var mode] => new JsonObject { ["offer"] = offer, ["pipeline"] = mode },
                _ => new JsonObject { ["offer"] = line },
            });
        }
        return items;
    }

    private static JsonObject Entry(Values v)
    {
        var entry = new JsonObject { ["enabled"] = v.Enabled };
        if (v.Offers.Trim().Length > 0)
        {
            entry["offers"] = ItemsOf(v.Offers);
        }
        entry["addons"] = ItemsOf(v.Addons);
        foreach (var (key, text) in new[] { ("price", v.Price), ("price_modifier", v.PriceModifier), ("addons_modifier", v.AddonsModifier) })
        {
            if (Number(text) is { } n)
            {
                entry[key] = n;
            }
        }
        return entry;
    }

    /// <summary>"offers[1] unknown offer …" names a line of the items field: "offers line 2: unknown offer …".</summary>
    [GeneratedRegex(@"^(offers|addons)\[(\d+)\] ")]
    private static partial Regex ItemPlace();

    private static Dictionary<string, List<string>> ErrorsByField(IEnumerable<string> errors) =>
        ByField(errors.Select(e => ItemPlace().Replace(e, m => $"{m.Groups[1].Value} line {int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) + 1}: ")), Fields);

    private static async Task<IResult> Create(HttpContext http, Store store)
    {
        var v = Values.Of(await http.Request.ReadFormAsync());
        if (v.Name.Length == 0)
        {
            return FormPage(http, store, null, v, new() { ["name"] = ["is required"] }, 400);
        }
        if (Stored(store).FindDeal(v.Name) is not null)
        {
            return FormPage(http, store, null, v, new() { ["name"] = [$"'{v.Name}' exists already: edit it instead"] }, 400);
        }
        var edit = await CatalogEdits.SaveDeal(store, v.Name, Entry(v));
        return edit.Saved ? Done(Path(v.Name), "created") : FormPage(http, store, null, v, ErrorsByField(edit.Errors), 400);
    }

    private static async Task<IResult> Save(HttpContext http, string name, Store store)
    {
        if (Stored(store).FindDeal(name) is not { } existing)
        {
            return NotFound(http, "No such deal", $"There is no deal '{name}'.", "/admin/deals");
        }
        var v = Values.Of(await http.Request.ReadFormAsync()) with { Name = name };
        var edit = await CatalogEdits.SaveDeal(store, name, Entry(v));
        return edit.Saved ? Done(Path(name), "saved") : FormPage(http, store, existing, v, ErrorsByField(edit.Errors), 400);
    }

    private static async Task<IResult> Enable(HttpContext http, string name, Store store, bool on) =>
        await CatalogEdits.EnableDeal(store, name, on)
            ? Done("/admin/deals", on ? "enabled" : "disabled")
            : NotFound(http, "No such deal", $"There is no deal '{name}'.", "/admin/deals");

    private static IResult ConfirmDelete(HttpContext http, string name, Store store) =>
        Stored(store).FindDeal(name) is { } deal
            ? Confirm(http, "Delete deal", $"Delete deal {name}?", Path(name) + "/delete", "Delete deal", "/admin/deals",
                $"<p>{E(deal.Path)} stops taking requests once the API's catalog refreshes (within a poll). Its offers stay; requests already made keep working.</p>")
            : NotFound(http, "No such deal", $"There is no deal '{name}'.", "/admin/deals");

    private static async Task<IResult> Delete(HttpContext http, string name, Store store)
    {
        if ((await http.Request.ReadFormAsync())["confirm"] != "yes")
        {
            return Frame(http, "Not deleted", """<section class="card"><p>Nothing was deleted: the confirmation was missing. <a href="/admin/deals">Back</a></p></section>""", 400);
        }
        return (await CatalogEdits.DeleteDeal(store, name)).Deleted
            ? Done("/admin/deals", "deleted")
            : NotFound(http, "No such deal", $"There is no deal '{name}'.", "/admin/deals");
    }
}
