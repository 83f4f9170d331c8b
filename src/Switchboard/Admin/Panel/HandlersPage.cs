using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Catalog;
using Switchboard.Handlers;
using Switchboard.Storage;
using static Switchboard.Admin.Panel.PanelForms;
using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>
/// Handlers: the configured ones (credits per call, resource, on or off, how many offers run on
/// each), a form for one of this build's implementations not configured yet, edit, enable or
/// disable, delete (refused while an offer runs on it). Every change goes through
/// <see cref="CatalogEdits"/>, as the admin JSON API's does.
/// </summary>
public static class HandlersPage
{
    private static readonly string[] Fields = ["id", "credits", "resource", "enabled"];

    public static RouteGroupBuilder MapHandlersPage(this RouteGroupBuilder panel)
    {
        panel.MapGet("/handlers", (HttpContext http, Store store, HandlerRegistry registry) => List(http, store, registry));
        panel.MapPost("/handlers", Create);
        panel.MapGet("/handlers/{id}", Edit);
        panel.MapPost("/handlers/{id}", Save);
        panel.MapPost("/handlers/{id}/enable", (HttpContext http, string id, Store store) => Enable(http, id, store, true));
        panel.MapPost("/handlers/{id}/disable", (HttpContext http, string id, Store store) => Enable(http, id, store, false));
        panel.MapGet("/handlers/{id}/delete", ConfirmDelete);
        panel.MapPost("/handlers/{id}/delete", Delete);
        return panel;
    }

    private static CatalogSnapshot Stored(Store store)
    {
        using var connection = store.Open();
        return CatalogStore.Load(connection);
    }

    private static string Path(string id) => $"/admin/handlers/{Uri.EscapeDataString(id)}";

    private static IResult List(HttpContext http, Store store, HandlerRegistry registry, JsonObject? draft = null,
        Dictionary<string, List<string>>? errors = null, int status = 200)
    {
        var catalog = Stored(store);
        var rows = new StringBuilder();
        foreach (var h in catalog.Handlers.Values)
        {
            var used = catalog.Offers.Count(o => o.Handler == h.Id);
            rows.Append($"""
                <tr data-handler="{E(h.Id)}"><td><a href="{E(Path(h.Id))}"><code>{E(h.Id)}</code></a>{(registry.Find(h.Id) is null ? " " + Badge("no code in this build", "bad") : "")}</td>
                <td class="num">{E(h.Credits)}</td><td>{(h.Resource is null ? "<span class=\"muted\">–</span>" : E(h.Resource))}</td>
                <td>{Badge(h.Enabled ? "enabled" : "disabled")}</td>
                <td class="num"><a href="/admin/offers">{E(used)}</a></td>
                <td><div class="row-actions"><a class="btn ghost small" href="{E(Path(h.Id))}">Edit</a>
                {(h.Enabled ? Button(http, Path(h.Id) + "/disable", "Disable") : Button(http, Path(h.Id) + "/enable", "Enable"))}
                {DangerLink(Path(h.Id) + "/delete", "Delete")}</div></td></tr>
                """);
        }
        if (catalog.Handlers.Count == 0)
        {
            rows.Append(EmptyRow(6, "No handlers yet: add one below, then offers that run on it."));
        }
        var free = registry.Ids.Where(i => !catalog.Handlers.ContainsKey(i)).Order(StringComparer.Ordinal).ToList();
        var form = free.Count == 0 && draft is null
            ? """<p class="muted">Every handler this build has code for is configured.</p>"""
            : HandlerForm(http, "/admin/handlers", draft, errors, free, "Create handler");
        return Frame(http, "Handlers", $"""
            <section class="card"><div class="card-head"><h2>Configured handlers</h2><span class="muted">the code behind offers; credits are what one call costs internally</span></div>
            <table><thead><tr><th>Id</th><th class="num">Credits per call</th><th>Resource</th><th>Status</th><th class="num">Offers</th><th></th></tr></thead>
            <tbody>{rows}</tbody></table></section>
            <section class="card" id="new"><h2>New handler</h2>{form}</section>
            """, status);
    }

    /// <summary>The form of one handler: <paramref name="ids"/> is the choice of ids on a new one (null on edit, where the id is the key).</summary>
    private static string HandlerForm(HttpContext http, string action, JsonObject? values, Dictionary<string, List<string>>? errors,
        IReadOnlyList<string>? ids, string button)
    {
        var id = Text(values, "id");
        var idField = ids is null
            ? Field("Id", "id", id, errors, "the key: it cannot be changed", extra: "readonly")
            : Select("Implementation", "id", ids.Select(i => (i, i)), id, errors);
        return $"""
            {FormErrors(errors)}
            <form method="post" action="{E(action)}" class="form" novalidate>{Token(http)}
            {idField}
            {Field("Credits per call", "credits", (Text(values, "credits") ?? (values?["credits"] is JsonObject cost ? Text(cost, "per_call") : null) ?? "1"), errors, "internal cost of one call, 0 or more", "number", "min=\"0\" step=\"1\"")}
            {Field("Resource", "resource", Text(values, "resource"), errors, "the resource gate it takes a slot of; empty for none")}
            {Check("Enabled", "enabled", values?["enabled"]?.GetValue<bool>() ?? true)}
            <div class="actions wide"><button class="btn primary" type="submit">{E(button)}</button>{(ids is null ? "<a class=\"btn ghost\" href=\"/admin/handlers\">Cancel</a>" : "")}</div>
            </form>
            """;
    }

    private static string? Text(JsonObject? values, string key) => values?[key] is JsonValue v ? v.ToString() : null;

    /// <summary>The form's fields as the catalog entry they stand for.</summary>
    private static JsonObject Entry(IFormCollection form)
    {
        var entry = new JsonObject { ["id"] = form["id"].ToString().Trim(), ["credits"] = Number(form["credits"]), ["enabled"] = form["enabled"] == "true" };
        if (form["credits"].ToString().Trim().Length == 0)
        {
            entry.Remove("credits");
        }
        if (form["resource"].ToString().Trim() is { Length: > 0 } resource)
        {
            entry["resource"] = resource;
        }
        return entry;
    }

    private static async Task<IResult> Create(HttpContext http, Store store, HandlerRegistry registry)
    {
        var form = await http.Request.ReadFormAsync();
        var entry = Entry(form);
        var id = entry["id"]!.GetValue<string>();
        if (id.Length == 0)
        {
            return List(http, store, registry, entry, new() { ["id"] = ["is required"] }, 400);
        }
        if (Stored(store).Handlers.ContainsKey(id))
        {
            return List(http, store, registry, entry, new() { ["id"] = [$"'{id}' is configured already: edit it instead"] }, 400);
        }
        var edit = await CatalogEdits.SaveHandler(store, registry.Ids, id, entry);
        return edit.Saved ? Done("/admin/handlers", "created") : List(http, store, registry, entry, ByField(edit.Errors, Fields), 400);
    }

    private static IResult Edit(HttpContext http, string id, Store store) =>
        Stored(store).Handlers.GetValueOrDefault(id) is { } h
            ? EditPage(http, id, CatalogDocument.ToJson(h), null, 200, Stored(store).Offers.Where(o => o.Handler == id).ToList())
            : NotFound(http, "No such handler", $"There is no handler '{id}'.", "/admin/handlers");

    private static IResult EditPage(HttpContext http, string id, JsonObject values, Dictionary<string, List<string>>? errors, int status, IReadOnlyList<OfferEntry> offers)
    {
        var list = offers.Count == 0
            ? """<p class="muted">No offer runs on it: it can be deleted.</p>"""
            : $"<ul>{string.Concat(offers.Select(o => $"<li><a href=\"{E($"/admin/offers/{o.Service}/{o.Action}")}\"><code>{E(o.Path)}</code></a></li>"))}</ul>";
        return Frame(http, $"Handler {id}", $"""
            <div class="catalog-split">
            <section class="card"><h2>Edit handler</h2>{HandlerForm(http, Path(id), values, errors, null, "Save")}</section>
            <section class="card"><h2>Offers on this handler</h2>{list}</section>
            </div>
            """, status);
    }

    private static async Task<IResult> Save(HttpContext http, string id, Store store, HandlerRegistry registry)
    {
        var entry = Entry(await http.Request.ReadFormAsync());
        entry["id"] = id;
        // The form edits the per-call credits; per-unit rates (set in the catalog file) are kept.
        if (Stored(store).Handlers.GetValueOrDefault(id) is { PerUnit.Count: > 0 } stored && entry["credits"] is JsonValue perCall)
        {
            entry["credits"] = new JsonObject { ["per_call"] = perCall.DeepClone(), ["per"] = CatalogDocument.ToJson(stored)["credits"]!["per"]!.DeepClone() };
        }
        var edit = await CatalogEdits.SaveHandler(store, registry.Ids, id, entry);
        return edit.Saved
            ? Done(Path(id), "saved")
            : EditPage(http, id, entry, ByField(edit.Errors, Fields), 400, Stored(store).Offers.Where(o => o.Handler == id).ToList());
    }

    private static async Task<IResult> Enable(HttpContext http, string id, Store store, bool on) =>
        await CatalogEdits.EnableHandler(store, id, on)
            ? Done("/admin/handlers", on ? "enabled" : "disabled")
            : NotFound(http, "No such handler", $"There is no handler '{id}'.", "/admin/handlers");

    private static IResult ConfirmDelete(HttpContext http, string id, Store store)
    {
        var catalog = Stored(store);
        if (!catalog.Handlers.ContainsKey(id))
        {
            return NotFound(http, "No such handler", $"There is no handler '{id}'.", "/admin/handlers");
        }
        var used = catalog.Offers.Where(o => o.Handler == id).Select(o => $"{o.Service}/{o.Action}").ToList();
        return used.Count > 0
            ? InUse(http, id, used, 200)
            : Confirm(http, "Delete handler", $"Delete handler {id}?", Path(id) + "/delete", "Delete handler", "/admin/handlers",
                "<p>It leaves the catalog at once; no offer runs on it. Requests already made keep their own copy of what they need.</p>");
    }

    private static IResult InUse(HttpContext http, string id, IReadOnlyList<string> offers, int status) =>
        Frame(http, "Delete handler", $"""
            <section class="card confirm"><h2>{E($"Handler {id} cannot be deleted")}</h2>
            <p class="alert" role="alert" data-test="in-use">{E($"Offers run on it: {string.Join(", ", offers)}. Delete them or move them to another handler first.")}</p>
            <p><a class="btn ghost" href="/admin/handlers">Back to handlers</a></p></section>
            """, status);

    private static async Task<IResult> Delete(HttpContext http, string id, Store store)
    {
        if ((await http.Request.ReadFormAsync())["confirm"] != "yes")
        {
            return Frame(http, "Not deleted", """<section class="card"><p>Nothing was deleted: the confirmation was missing. <a href="/admin/handlers">Back</a></p></section>""", 400);
        }
        var done = await CatalogEdits.DeleteHandler(store, id);
        return done.Deleted ? Done("/admin/handlers", "deleted")
            : !done.Found ? NotFound(http, "No such handler", $"There is no handler '{id}'.", "/admin/handlers")
            : InUse(http, id, done.UsedBy, 409);
    }
}
