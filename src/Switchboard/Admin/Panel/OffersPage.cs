using System.Text;
using System.Text.Json;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using Switchboard.Catalog;
using Switchboard.Handlers;
using Switchboard.Storage;
using static Switchboard.Admin.Panel.PanelForms;
using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>
/// Offers: every offer with its endpoint, handler, price and whether it is live (it and its
/// handler enabled); a form to create or edit one beside a preview of the endpoint it makes
/// (the template's variables are its inputs), computed on the server; enable, disable, delete
/// (refused while a deal names it). Every change goes through <see cref="CatalogEdits"/>.
/// </summary>
public static class OffersPage
{
    private static readonly string[] Fields = ["service", "action", "handler", "price", "prompt_template", "create_qty", "expiration", "params", "enabled"];

    // Shown HTML-encoded by E, so the JSON itself need not escape '<' as \u003C: an admin reads what was stored.
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The form's values as typed (the params as text), so a refused form comes back as it was sent.</summary>
    private sealed record Values(string Service, string Action, string Handler, string Price, string Template, string CreateQty, string Expiration, string Params, bool Enabled)
    {
        public static Values Empty { get; } = new("", "", "", "", "", "1", "", "", true);

        public static Values Of(OfferEntry o) => new(o.Service, o.Action, o.Handler, Str(o.Price), o.Template.Source, Str(o.CreateQty),
            o.Expiration is { } x ? Str(x) : "", o.Params.Count == 0 ? "" : o.Params.ToJsonString(Indented), o.Enabled);

        public static Values Of(IFormCollection f) => new(f["service"].ToString().Trim(), f["action"].ToString().Trim(), f["handler"].ToString(),
            f["price"].ToString(), f["prompt_template"].ToString(), f["create_qty"].ToString(), f["expiration"].ToString(), f["params"].ToString(),
            f["enabled"] == "true");

        private static string Str(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public static RouteGroupBuilder MapOffersPage(this RouteGroupBuilder panel)
    {
        panel.MapGet("/offers", List);
        panel.MapGet("/offers/new", (HttpContext http, Store store) => FormPage(http, store, null, Values.Empty, null, 200, preview: false));
        panel.MapPost("/offers/new", Create);
        panel.MapGet("/offers/{service}/{action}", Edit);
        panel.MapPost("/offers/{service}/{action}", Save);
        panel.MapPost("/offers/{service}/{action}/enable", (HttpContext http, string service, string action, Store store) => Enable(http, service, action, store, true));
        panel.MapPost("/offers/{service}/{action}/disable", (HttpContext http, string service, string action, Store store) => Enable(http, service, action, store, false));
        panel.MapGet("/offers/{service}/{action}/delete", ConfirmDelete);
        panel.MapPost("/offers/{service}/{action}/delete", Delete);
        return panel;
    }

    private static CatalogSnapshot Stored(Store store)
    {
        using var connection = store.Open();
        return CatalogStore.Load(connection);
    }

    private static string Path(string service, string action) => $"/admin/offers/{Uri.EscapeDataString(service)}/{Uri.EscapeDataString(action)}";

    private static IResult List(HttpContext http, Store store)
    {
        var catalog = Stored(store);
        var rows = new StringBuilder();
        foreach (var o in catalog.Offers)
        {
            var path = Path(o.Service, o.Action);
            var handler = catalog.Handlers.GetValueOrDefault(o.Handler);
            rows.Append($"""
                <tr data-offer="{E($"{o.Service}/{o.Action}")}"><td><a href="{E(path)}"><code>{E(o.Path)}</code></a></td>
                <td><a href="{E($"/admin/handlers/{Uri.EscapeDataString(o.Handler)}")}"><code>{E(o.Handler)}</code></a>{(handler is { Enabled: false } ? " " + Badge("off", "bad") : "")}</td>
                <td class="num">{E(o.Price)}</td>
                <td data-test="status">{Badge(o.Enabled ? "enabled" : "disabled")}</td>
                <td data-test="live">{(catalog.IsLive(o) ? Badge("live") : Badge("not live", "bad"))}</td>
                <td><div class="row-actions"><a class="btn ghost small" href="{E(path)}">Edit</a>
                {(o.Enabled ? Button(http, path + "/disable", "Disable") : Button(http, path + "/enable", "Enable"))}
                {DangerLink(path + "/delete", "Delete")}</div></td></tr>
                """);
        }
        if (catalog.Offers.Count == 0)
        {
            rows.Append(EmptyRow(6, "No offers yet."));
        }
        return Frame(http, "Offers", $"""
            <section class="card"><div class="card-head"><h2>Offers</h2><span class="muted">live = the offer and its handler are enabled; the API follows a change within one poll</span></div>
            <table><thead><tr><th>Endpoint</th><th>Handler</th><th class="num">Price</th><th>Status</th><th>Live</th><th></th></tr></thead>
            <tbody>{rows}</tbody></table></section>
            """, actions: """<a class="btn primary" href="/admin/offers/new">New offer</a>""");
    }

    private static IResult Edit(HttpContext http, string service, string action, Store store) =>
        Stored(store).FindOffer(service, action) is { } offer
            ? FormPage(http, store, offer, Values.Of(offer), null, 200, preview: true)
            : NotFound(http, "No such offer", $"There is no offer '{service}/{action}'.", "/admin/offers");

    /// <summary>The form (new when <paramref name="existing"/> is null) and, beside it, the endpoint it makes.</summary>
    private static IResult FormPage(HttpContext http, Store store, OfferEntry? existing, Values v, Dictionary<string, List<string>>? errors, int status, bool preview)
    {
        var catalog = Stored(store);
        var handlers = catalog.Handlers.Values.Select(h => (h.Id, h.Enabled ? h.Id : $"{h.Id} (disabled)")).ToList();
        if (v.Handler.Length > 0 && !catalog.Handlers.ContainsKey(v.Handler))
        {
            handlers.Add((v.Handler, $"{v.Handler} (unknown)"));
        }
        var isNew = existing is null;
        var action = isNew ? "/admin/offers/new" : Path(existing!.Service, existing.Action);
        var keyHint = isNew ? "lowercase slug; part of the endpoint's path" : "the key: it cannot be changed";
        var keyExtra = isNew ? "required" : "readonly";
        var form = $"""
            {FormErrors(errors)}
            <form method="post" action="{E(action)}" class="form" novalidate>{Token(http)}
            {Field("Service", "service", v.Service, errors, keyHint, extra: keyExtra)}
            {Field("Action", "action", v.Action, errors, keyHint, extra: keyExtra)}
            {(handlers.Count == 0 ? """<div class="field"><label>Handler</label><p class="muted">No handlers yet: <a href="/admin/handlers">add one</a> first.</p></div>""" : Select("Handler", "handler", handlers, v.Handler, errors))}
            {Field("Price (credits)", "price", v.Price, errors, "what a client is charged per request", "number", "min=\"0\" step=\"1\"")}
            <div class="wide">{Field("Prompt template", "prompt_template", v.Template, errors, "{name} is an input of the endpoint; {{ and }} are literal braces", "textarea")}</div>
            {Field("Results per request", "create_qty", v.CreateQty, errors, "create_qty, 1 to 100", "number", "min=\"1\" max=\"100\" step=\"1\"")}
            {Field("Expiration (seconds)", "expiration", v.Expiration, errors, "empty: requests never expire", "number", "min=\"1\" step=\"1\"")}
            <div class="wide">{Field("Params", "params", v.Params, errors, "a JSON object passed to the handler (model, temperature, …); empty for none", "textarea")}</div>
            {Check("Enabled", "enabled", v.Enabled)}
            <div class="actions wide"><button class="btn primary" type="submit">{(isNew ? "Create offer" : "Save")}</button>
            <button class="btn ghost" type="submit" name="preview" value="1">Preview</button><a class="btn ghost" href="/admin/offers">Cancel</a></div>
            </form>
            """;
        return Frame(http, isNew ? "New offer" : $"Offer {existing!.Service}/{existing.Action}", $"""
            <div class="catalog-split wide-left">
            <section class="card"><h2>{(isNew ? "New offer" : "Edit offer")}</h2>{form}</section>
            <section class="card"><h2>Preview</h2>{(preview ? Preview(catalog, v) : """<p class="muted">Fill in the form and press Preview to see the endpoint it makes.</p>""")}</section>
            </div>
            """, status);
    }

    /// <summary>What the values make: the endpoint, its inputs (the template's variables), a request body to send it.</summary>
    private static string Preview(CatalogSnapshot catalog, Values v)
    {
        var endpoint = $"POST /svc/{v.Service}/{v.Action}/";
        string inputs, body;
        if (PromptTemplate.TryParse(v.Template, out var template, out var error))
        {
            inputs = template.Variables.Count == 0
                ? """<p class="muted" data-test="variables">None: the endpoint takes an empty object.</p>"""
                : $"""<ul class="vars" data-test="variables">{string.Concat(template.Variables.Select(n => $"<li><code>{E(n)}</code></li>"))}</ul>""";
            var example = new JsonObject();
            foreach (var name in template.Variables)
            {
                example[name] = "…";
            }
            body = $"""<pre class="block" data-test="example">{E(example.ToJsonString(Indented))}</pre>""";
        }
        else
        {
            inputs = $"""<p class="field-error" data-test="variables">The template does not parse: {E(error)}</p>""";
            body = "";
        }
        var handler = catalog.Handlers.GetValueOrDefault(v.Handler);
        var live = v.Enabled && handler is { Enabled: true };
        return $"""
            <div class="preview">
            <dl class="kv"><dt>Endpoint</dt><dd><code data-test="endpoint">{E(endpoint)}</code></dd>
            <dt>Price</dt><dd>{E(v.Price.Length == 0 ? "–" : v.Price)} credits per request, {E(v.CreateQty.Length == 0 ? "1" : v.CreateQty)} result(s) each</dd>
            <dt>Once saved</dt><dd data-test="once-saved">{(live ? Badge("live") : Badge("not live", "bad"))} {(handler is null ? "<span class=\"muted\">no such handler</span>" : handler.Enabled ? "" : "<span class=\"muted\">its handler is disabled</span>")}</dd></dl>
            <h3>Inputs</h3>{inputs}
            {(body.Length == 0 ? "" : $"<h3>Request body</h3>{body}")}
            </div>
            """;
    }

    private static async Task<IResult> Create(HttpContext http, Store store, HandlerRegistry registry)
    {
        var v = Values.Of(await http.Request.ReadFormAsync());
        if (http.Request.Form.ContainsKey("preview"))
        {
            return FormPage(http, store, null, v, null, 200, preview: true);
        }
        if (v.Service.Length > 0 && v.Action.Length > 0 && Stored(store).FindOffer(v.Service, v.Action) is not null)
        {
            return FormPage(http, store, null, v, new() { ["action"] = [$"'{v.Service}/{v.Action}' exists already: edit it instead"] }, 400, preview: true);
        }
        if (v.Service.Length == 0 || v.Action.Length == 0)
        {
            var missing = new Dictionary<string, List<string>>();
            foreach (var (name, value) in new[] { ("service", v.Service), ("action", v.Action) }.Where(f => f.Item2.Length == 0))
            {
                missing[name] = ["is required"];
            }
            return FormPage(http, store, null, v, missing, 400, preview: false);
        }
        return await SaveValues(http, store, registry, null, v, "created");
    }

    private static async Task<IResult> Save(HttpContext http, string service, string action, Store store, HandlerRegistry registry)
    {
        var existing = Stored(store).FindOffer(service, action);
        if (existing is null)
        {
            return NotFound(http, "No such offer", $"There is no offer '{service}/{action}'.", "/admin/offers");
        }
        var v = Values.Of(await http.Request.ReadFormAsync()) with { Service = service, Action = action };
        return http.Request.Form.ContainsKey("preview")
            ? FormPage(http, store, existing, v, null, 200, preview: true)
            : await SaveValues(http, store, registry, existing, v, "saved");
    }

    private static async Task<IResult> SaveValues(HttpContext http, Store store, HandlerRegistry registry, OfferEntry? existing, Values v, string notice)
    {
        var entry = new JsonObject { ["handler"] = v.Handler, ["enabled"] = v.Enabled };
        if (v.Template.Length > 0)
        {
            entry["prompt_template"] = v.Template;
        }
        foreach (var (key, text) in new[] { ("price", v.Price), ("create_qty", v.CreateQty), ("expiration", v.Expiration) })
        {
            if (Number(text) is { } n)
            {
                entry[key] = n;
            }
        }
        string? paramsError = null;
        if (v.Params.Trim().Length > 0)
        {
            try
            {
                entry["params"] = JsonNode.Parse(v.Params);
            }
            catch (JsonException ex)
            {
                // Left as text, the validator refuses it too: nothing is saved.
                entry["params"] = v.Params;
                paramsError = $"is not valid JSON ({ex.Message})";
            }
        }
        var edit = await CatalogEdits.SaveOffer(store, registry.Ids, v.Service, v.Action, entry, registry.CheckParams);
        if (edit.Saved)
        {
            return Done(Path(v.Service, v.Action), notice);
        }
        var errors = ByField(edit.Errors, Fields);
        if (paramsError is not null)
        {
            errors["params"] = [paramsError];
        }
        return FormPage(http, store, existing, v, errors, 400, preview: true);
    }

    private static async Task<IResult> Enable(HttpContext http, string service, string action, Store store, bool on) =>
        await CatalogEdits.EnableOffer(store, service, action, on)
            ? Done("/admin/offers", on ? "enabled" : "disabled")
            : NotFound(http, "No such offer", $"There is no offer '{service}/{action}'.", "/admin/offers");

    private static IResult ConfirmDelete(HttpContext http, string service, string action, Store store)
    {
        if (Stored(store).FindOffer(service, action) is not { } offer)
        {
            return NotFound(http, "No such offer", $"There is no offer '{service}/{action}'.", "/admin/offers");
        }
        IReadOnlyList<string> deals;
        using (var connection = store.Open())
        {
            deals = CatalogEdits.DealsUsing(connection, $"{service}/{action}");
        }
        return deals.Count > 0
            ? InUse(http, service, action, deals, 200)
            : Confirm(http, "Delete offer", $"Delete offer {service}/{action}?", Path(service, action) + "/delete", "Delete offer", "/admin/offers",
                $"<p>{E(offer.Path)} stops taking requests once the API's catalog refreshes (within a poll). Requests already made keep working: each holds its own handler, prompt and params.</p>");
    }

    private static IResult InUse(HttpContext http, string service, string action, IReadOnlyList<string> deals, int status) =>
        Frame(http, "Delete offer", $"""
            <section class="card confirm"><h2>{E($"Offer {service}/{action} cannot be deleted")}</h2>
            <p class="alert" role="alert" data-test="in-use">{E($"Deals name it: {string.Join(", ", deals)}. Take it out of them first.")}</p>
            <p><a class="btn ghost" href="/admin/offers">Back to offers</a></p></section>
            """, status);

    private static async Task<IResult> Delete(HttpContext http, string service, string action, Store store)
    {
        if ((await http.Request.ReadFormAsync())["confirm"] != "yes")
        {
            return Frame(http, "Not deleted", """<section class="card"><p>Nothing was deleted: the confirmation was missing. <a href="/admin/offers">Back</a></p></section>""", 400);
        }
        var done = await CatalogEdits.DeleteOffer(store, service, action);
        return done.Deleted ? Done("/admin/offers", "deleted")
            : !done.Found ? NotFound(http, "No such offer", $"There is no offer '{service}/{action}'.", "/admin/offers")
            : InUse(http, service, action, done.UsedBy, 409);
    }
}
