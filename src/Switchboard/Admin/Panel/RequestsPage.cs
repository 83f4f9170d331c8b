using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Audit;
using Switchboard.Catalog;
using Switchboard.Config;
using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Requests;
using Switchboard.Resources;
using Switchboard.Storage;
using static Switchboard.Admin.Panel.PanelForms;
using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>
/// Requests: a filtered list, newest first, a page at a time; a request's page with its inputs,
/// results, a deal's steps and its ledger rows; Retry (a failed one, charged again) and Cancel
/// (a queued or running one, refunded), each after a confirmation. The rules are
/// <see cref="RequestAdmin"/>'s, the same <c>/admin/api/requests</c> runs.
/// </summary>
public static class RequestsPage
{
    public const int PageSize = 50;

    private static readonly string[] FilterFields = ["status", "user", "offer", "deal", "from", "to", "limit", "before"];

    // Values are HTML-encoded when written; escaping '<' as \u003C in the JSON as well would only make it unreadable.
    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static RouteGroupBuilder MapRequestsPage(this RouteGroupBuilder panel)
    {
        panel.MapGet("/requests", List);
        panel.MapGet("/requests/{id}", (string id, HttpContext http, Store store) => Show(http, store, id));
        panel.MapGet("/requests/{id}/retry", ConfirmRetry);
        panel.MapPost("/requests/{id}/retry", Retry);
        panel.MapGet("/requests/{id}/cancel", ConfirmCancel);
        panel.MapPost("/requests/{id}/cancel", Cancel);
        return panel;
    }

    public static string PathOf(string id) => "/admin/requests/" + Uri.EscapeDataString(id);

    /// <summary>A request id shortened for a table (the link holds the whole).</summary>
    public static string Short(string id) => id.Length > 12 ? id[..12] + "…" : id;

    /// <summary>A time as the panel's tables show it, in UTC.</summary>
    public static string When(long? ms) =>
        ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "–";

    private static IResult List(HttpContext http, Store store)
    {
        var query = http.Request.Query;
        string Raw(string name) => query[name].ToString();
        var errors = new List<string>();
        // The panel's page size is fixed; the JSON API takes a limit.
        var filter = RequestAdmin.ParseFilter(name => name == "limit" ? null : Raw(name), errors);
        var byField = errors.Count > 0 ? ByField(errors, FilterFields) : null;
        var body = new StringBuilder();
        body.Append($"""
            <section class="card"><form method="get" action="/admin/requests" class="filters request-filters" data-test="filters">
            <label>Status<select name="status"><option value="">any</option>{string.Concat(RequestAdmin.Statuses.Select(s => $"<option value=\"{E(s)}\"{(Raw("status") == s ? " selected" : "")}>{E(s)}</option>"))}</select></label>
            <label>User<input name="user" value="{E(Raw("user"))}" placeholder="name" size="10"></label>
            <label>Offer<input name="offer" value="{E(Raw("offer"))}" placeholder="service/action" size="13"></label>
            <label>Deal<input name="deal" value="{E(Raw("deal"))}" placeholder="deal name" size="10"></label>
            <label>From (UTC)<input type="datetime-local" name="from" value="{E(Raw("from"))}"></label>
            <label>To (UTC)<input type="datetime-local" name="to" value="{E(Raw("to"))}"></label>
            <span class="request-buttons"><button class="btn primary" type="submit">Filter</button><a class="btn ghost" href="/admin/requests">Clear</a></span>
            </form>{(byField is null ? "" : $"""<div class="alert" role="alert" data-test="filter-errors">{string.Join("<br>", errors.Select(E))}</div>""")}
            <p class="muted request-hint">Times are UTC. Newest first, {PageSize} per page; a deal's steps are shown on its deal.</p></section>
            """);
        RequestPage? page = null;
        if (filter is not null)
        {
            using var connection = store.Open();
            page = RequestAdmin.Search(connection, filter with { Limit = PageSize });
        }
        body.Append("""
            <section class="card"><table data-test="requests"><thead><tr><th>Id</th><th>Kind</th><th>Offer or deal</th><th>User</th><th>Status</th>
            <th class="num">Price</th><th class="num">Attempts</th><th class="num">Run</th><th>Created (UTC)</th></tr></thead><tbody>
            """);
        foreach (var r in page?.Rows ?? [])
        {
            body.Append($"""
                <tr><td><a class="mono" href="{E(PathOf(r.Id))}" title="{E(r.Id)}">{E(Short(r.Id))}</a></td><td>{E(r.Kind)}</td><td>{E(r.Target)}</td>
                <td><a href="{E(Components.Pages.Users.UserPaths.Of(r.User))}">{E(r.User)}</a></td><td>{Badge(r.Status)}</td><td class="num">{E(r.Price)}</td>
                <td class="num">{E(r.Attempts)}/{E(r.MaxAttempts)}</td><td class="num">{E(r.Run)}</td><td>{E(When(r.CreatedAt))}</td></tr>
                """);
        }
        if (page is { Rows.Count: 0 })
        {
            var filtered = FilterFields.Any(f => Raw(f).Length > 0);
            body.Append(EmptyRow(9, filtered ? "No requests match these filters." : "No requests yet."));
        }
        else if (page is null)
        {
            body.Append(EmptyRow(9, "Fix the filters above to see requests."));
        }
        body.Append("</tbody></table>");
        if (page?.Older is { } older)
        {
            var next = string.Join("&", FilterFields.Where(f => f != "before" && f != "limit" && Raw(f).Length > 0)
                .Select(f => $"{f}={Uri.EscapeDataString(Raw(f))}")
                .Append($"before={older.ToString(CultureInfo.InvariantCulture)}"));
            body.Append($"""<div class="pager"><a class="btn ghost small" href="/admin/requests?{E(next)}" data-test="older">Older →</a></div>""");
        }
        body.Append("</section>");
        return Frame(http, "Requests", body.ToString(), byField is null ? 200 : 400);
    }

    private static IResult Show(HttpContext http, Store store, string id, string? alert = null, int status = 200)
    {
        RequestDetail? detail;
        using (var connection = store.Open())
        {
            detail = RequestAdmin.Detail(connection, id);
        }
        if (detail is null)
        {
            return NotFound(http, "No such request", $"No request has the id '{id}' (a deal's steps are shown on their deal).", "/admin/requests");
        }
        var r = detail.Request;
        var json = detail.Json;
        var path = PathOf(r.Id);
        var shown = json["status"]!.GetValue<string>();
        var target = r.Kind == "deal" ? r.Action : $"{r.Service}/{r.Action}";
        var addons = r.Kind == "deal" && json["addons"] is JsonArray { Count: > 0 } list ? $" <span class=\"muted\">+ {E(string.Join(", ", list.Select(a => a!.GetValue<string>())))}</span>" : "";
        var actions = new StringBuilder("<span class=\"request-actions\">");
        if (r.Status == RequestStatus.Failed)
        {
            actions.Append($"""<a class="btn primary" href="{E(path)}/retry" data-test="retry">Retry</a>""");
        }
        if (r.Status is RequestStatus.Queued or RequestStatus.Running)
        {
            actions.Append(DangerLink($"{path}/cancel", "Cancel request"));
        }
        actions.Append("""<a class="btn ghost" href="/admin/requests">All requests</a></span>""");
        var body = new StringBuilder();
        if (alert is not null)
        {
            body.Append($"""<div class="alert" role="alert" data-test="action-error">{E(alert)}</div>""");
        }
        body.Append($"""
            <div class="grid2 request-grid"><section class="card"><h2>Request</h2><dl class="kv" data-test="request">
            <dt>Id</dt><dd class="mono">{E(r.Id)}</dd>
            <dt>Kind</dt><dd>{E(r.Kind)}</dd>
            <dt>{(r.Kind == "deal" ? "Deal" : "Offer")}</dt><dd>{E(target)}{addons}</dd>
            <dt>User</dt><dd><a href="{E(Components.Pages.Users.UserPaths.Of(detail.User))}">{E(detail.User)}</a></dd>
            <dt>Status</dt><dd data-test="status">{Badge(shown)}</dd>
            <dt>Run</dt><dd data-test="run">{E(r.Run)}</dd>
            <dt>Attempts</dt><dd>{E(r.Attempts)} of {E(r.MaxAttempts)}</dd>
            <dt>Price</dt><dd>{E(r.Price)} credits</dd>
            <dt>Handler</dt><dd class="mono">{E(r.Handler)}</dd>
            <dt>Created (UTC)</dt><dd>{E(When(r.CreatedAt))}</dd>
            <dt>Started (UTC)</dt><dd>{E(When(r.Kind == "deal" ? ParseMs(json["started_at"]) : r.StartedAt))}</dd>
            <dt>Finished (UTC)</dt><dd>{E(When(r.FinishedAt))}</dd>
            {(r.ExpiresAt is { } expires ? $"<dt>Results expire (UTC)</dt><dd>{E(When(expires))}</dd>" : "")}
            {(r.ErrorCode is null ? "" : $"<dt>Error</dt><dd data-test=\"error\"><code class=\"mono\">{E(r.ErrorCode)}</code> {E(r.ErrorMessage)}</dd>")}
            </dl></section>
            <section class="card"><h2>Inputs</h2><pre class="block" data-test="inputs">{E(PrettyJson(r.Inputs))}</pre>
            <h2 class="request-sub">Results</h2><pre class="block" data-test="results">{E(r.Results is null ? "none yet" : PrettyJson(r.Results))}</pre></section></div>
            """);
        if (json["steps"] is JsonArray steps)
        {
            body.Append("""
                <section class="card"><h2>Steps</h2><table data-test="steps"><thead><tr><th class="num">#</th><th>Offer</th><th>Pipeline</th><th>Status</th>
                <th class="num">Price share</th><th class="num">Attempts</th><th>Error</th></tr></thead><tbody>
                """);
            foreach (var s in steps.OfType<JsonObject>())
            {
                var error = s["error"] is JsonObject e ? $"<code class=\"mono\">{E(e["code"])}</code> {E(e["message"])}" : "";
                body.Append($"""
                    <tr><td class="num">{E(s["step"])}</td><td>{E(s["offer"])}</td><td>{E(s["pipeline"])}</td><td>{Badge(s["status"]!.GetValue<string>())}</td>
                    <td class="num">{E(s["price"])}</td><td class="num">{E(s["attempts"])}</td><td>{error}</td></tr>
                    """);
            }
            if (steps.Count == 0)
            {
                body.Append(EmptyRow(7, "No steps."));
            }
            body.Append("</tbody></table></section>");
        }
        // A deal's refunds are per step; an offer's rows have none.
        var deal = r.Kind == "deal";
        body.Append($"""
            <section class="card"><h2>Ledger</h2><table data-test="ledger"><thead><tr><th>Time (UTC)</th><th>Kind</th><th class="num">Amount</th>
            <th class="num">Run</th>{(deal ? "<th class=\"num\">Step</th>" : "")}<th>Note</th><th>Actor</th></tr></thead><tbody>
            """);
        foreach (var (e, step) in detail.Ledger)
        {
            body.Append($"""
                <tr><td>{E(When(e.CreatedAt))}</td><td>{Badge(e.Kind, e.Kind == "refund" ? "ok" : "info")}</td>
                <td class="num">{E(e.Amount.ToString("+#,0;-#,0;0", CultureInfo.InvariantCulture))}</td><td class="num">{E(e.Run)}</td>
                {(deal ? $"<td class=\"num\">{E(step)}</td>" : "")}<td>{E(e.Note)}</td><td>{E(e.Actor)}</td></tr>
                """);
        }
        if (detail.Ledger.Count == 0)
        {
            body.Append(EmptyRow(deal ? 7 : 6, "No ledger entries (free, or not charged yet)."));
        }
        body.Append("</tbody></table></section>");
        return Frame(http, $"Request {Short(r.Id)}", body.ToString(), status, actions.ToString());
    }

    private static long? ParseMs(JsonNode? iso) =>
        iso is JsonValue v && DateTimeOffset.TryParse(v.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToUnixTimeMilliseconds()
            : null;

    private static string PrettyJson(string json)
    {
        try
        {
            return JsonNode.Parse(json)?.ToJsonString(Pretty) ?? "null";
        }
        catch (JsonException)
        {
            return json;
        }
    }

    private static RequestRecord? Load(Store store, string id)
    {
        using var connection = store.Open();
        return RequestAdmin.Detail(connection, id)?.Request;
    }

    private static IResult ConfirmRetry(string id, HttpContext http, Store store)
    {
        if (Load(store, id) is not { } r)
        {
            return NotFound(http, "No such request", $"No request has the id '{id}'.", "/admin/requests");
        }
        if (r.Status != RequestStatus.Failed)
        {
            return Show(http, store, id, $"Only a failed request can be retried; this one is {r.Status}.", 409);
        }
        return Confirm(http, "Retry request", $"Run request {Short(r.Id)} again?", $"{PathOf(r.Id)}/retry", "Retry and charge again", PathOf(r.Id),
            """
            <p>It runs again as a new run under the same id, rebuilt from the current catalog (price, prompt, params) and its stored inputs,
            and its user is charged again, exactly as if they had submitted it again. Nothing changes if the offer is not live or the user lacks the credits.</p>
            """);
    }

    private static async Task<IResult> Retry(string id, HttpContext http, Store store, RequestLifecycle lifecycle, CatalogCache catalog, AppConfigs configs, IJobQueue queue, ResourceNeeds needs, IResourceGate gate)
    {
        var form = await http.Request.ReadFormAsync();
        if (form["confirm"].ToString() != "yes")
        {
            AuditFilters.NothingDone(http);
            return ConfirmRetry(id, http, store);
        }
        var result = await RequestAdmin.Retry(id, lifecycle, catalog.Current, configs, queue, needs, gate);
        return result.Outcome switch
        {
            RetryOutcome.Retried => Done(PathOf(id), "retried"),
            RetryOutcome.NotFound => NotFound(http, "No such request", $"No request has the id '{id}'.", "/admin/requests"),
            RetryOutcome.InsufficientCredits => Show(http, store, id, $"Not retried: not enough credits ({result.Detail}). Nothing was changed.", 402),
            RetryOutcome.NotInstalled => Show(http, store, id, $"Not retried: {result.Detail} Nothing was changed.", 503),
            RetryOutcome.ResourceExhausted => Show(http, store, id, $"Not retried: {result.Detail} Nothing was changed.", 429),
            _ => Show(http, store, id, $"Not retried: {result.Detail} Nothing was changed.", 409),
        };
    }

    private static IResult ConfirmCancel(string id, HttpContext http, Store store)
    {
        if (Load(store, id) is not { } r)
        {
            return NotFound(http, "No such request", $"No request has the id '{id}'.", "/admin/requests");
        }
        if (r.Status is not (RequestStatus.Queued or RequestStatus.Running))
        {
            return Show(http, store, id, $"Only a queued or running request can be cancelled; this one is {r.Status}.", 409);
        }
        return Confirm(http, "Cancel request", $"Cancel request {Short(r.Id)}?", $"{PathOf(r.Id)}/cancel", "Cancel request", PathOf(r.Id),
            $"<p>It stops (a running job is stopped) and its user gets its {E(r.Price)} credits back{(r.Kind == "deal" ? " for every step not finished" : "")}. This cannot be undone.</p>");
    }

    private static async Task<IResult> Cancel(string id, HttpContext http, Store store, RequestLifecycle lifecycle)
    {
        var form = await http.Request.ReadFormAsync();
        if (form["confirm"].ToString() != "yes")
        {
            AuditFilters.NothingDone(http);
            return ConfirmCancel(id, http, store);
        }
        var (outcome, request) = await RequestAdmin.Cancel(id, AdminPanel.SignedIn(http), lifecycle);
        return outcome switch
        {
            CancelOutcome.NotFound => NotFound(http, "No such request", $"No request has the id '{id}'.", "/admin/requests"),
            CancelOutcome.AlreadyFinished => Show(http, store, id, $"Not cancelled: it is {request!.Status} already.", 409),
            _ => Done(PathOf(id), "cancelled"),
        };
    }
}
