using System.Text;
using Switchboard.Audit;
using Switchboard.Config;
using Switchboard.Storage;
using static Switchboard.Admin.Panel.PanelForms;
using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>
/// Configs: the ids with their active and loaded versions, each id's versions (author, time,
/// comment), a version's text with secrets masked, the diff of two versions, and rollback after a
/// confirmation that shows what will change. All through <see cref="ConfigAdmin"/>.
/// </summary>
public static class ConfigsPage
{
    public static RouteGroupBuilder MapConfigsPage(this RouteGroupBuilder panel)
    {
        panel.MapGet("/configs", List);
        panel.MapGet("/configs/{id}", Versions);
        panel.MapGet("/configs/{id}/versions/{version}", Show);
        panel.MapGet("/configs/{id}/diff", Diff);
        panel.MapGet("/configs/{id}/rollback", ConfirmRollback);
        panel.MapPost("/configs/{id}/rollback", Rollback);
        return panel;
    }

    private static string Url(string id) => $"/admin/configs/{Uri.EscapeDataString(id)}";

    private static IResult List(HttpContext http, AppConfigs configs, BootstrapConfig bootstrap)
    {
        var rows = new StringBuilder();
        foreach (var s in ConfigAdmin.Summaries(configs, bootstrap))
        {
            var loaded = s.Loaded ?? "defaults";
            var lag = s.Active is not null && s.Loaded != s.Active.Version && s.Pinned is null ? " " + Badge("reloading", "info") : "";
            rows.Append($"""
                <tr><td><a href="{E(Url(s.Id))}"><b>{E(s.Id)}</b></a></td>
                <td>{(s.Active is null ? "<span class=\"muted\">none stored</span>" : Badge(s.Active.Version, "ok"))}</td>
                <td>{E(loaded)}{lag}{(s.Pinned is null ? "" : " " + Badge("pinned " + s.Pinned, "info"))}</td>
                <td class="num">{s.Versions}</td>
                <td>{(s.Latest is null ? "<span class=\"muted\">–</span>" : $"{E(s.Latest.Version)} by {E(s.Latest.Author)} <span class=\"muted\">{E(Clock.Iso(s.Latest.CreatedAt))}</span>")}</td>
                <td class="muted">{E(s.Latest?.Comment)}</td></tr>
                """);
        }
        return Frame(http, "Configs", $"""
            <section class="card"><div class="card-head"><h2>App configs</h2><span class="muted">Push new versions with <code>switchboard config push</code>; roll back here.</span></div>
            <table><thead><tr><th>Id</th><th>Active version</th><th>Running here</th><th class="num">Versions</th><th>Last change</th><th>Comment</th></tr></thead>
            <tbody>{rows}</tbody></table></section>
            """);
    }

    private static IResult Versions(string id, HttpContext http, AppConfigs configs)
    {
        var versions = configs.Versions.List(id);
        if (versions.Count == 0 && !configs.ReadIds.Contains(id))
        {
            return NotFound(http, "Configs", $"No version of config '{id}' is stored.", "/admin/configs");
        }
        var active = versions.FirstOrDefault(v => v.Active);
        var rows = new StringBuilder();
        foreach (var v in versions.AsEnumerable().Reverse())
        {
            var actions = new StringBuilder($"""<a class="btn ghost small" href="{E($"{Url(id)}/versions/{Uri.EscapeDataString(v.Version)}")}">View</a>""");
            if (active is not null && !v.Active)
            {
                actions.Append($"""<a class="btn ghost small" href="{E(DiffUrl(id, active.Version, v.Version))}">Diff with active</a>""");
            }
            if (!v.Active)
            {
                actions.Append(DangerLink($"{Url(id)}/rollback?to={Uri.EscapeDataString(v.Version)}", active is null || v.Seq < active.Seq ? "Roll back to this" : "Activate"));
            }
            rows.Append($"""
                <tr data-version="{E(v.Version)}"><td><b>{E(v.Version)}</b> {(v.Active ? Badge("active") : "")}</td><td>{E(v.Author)}</td>
                <td>{E(Clock.Iso(v.CreatedAt))}</td><td>{E(v.Comment)}</td><td class="mono muted">{E(v.Hash[..12])}</td>
                <td><div class="row-actions">{actions}</div></td></tr>
                """);
        }
        var history = new StringBuilder();
        var seq = versions.ToDictionary(v => v.Version, v => v.Seq, StringComparer.Ordinal);
        foreach (var a in configs.Versions.History(id, ConfigAdmin.HistoryLimit))
        {
            var how = a.Action == "push" ? "pushed"
                : a.Previous is not null && seq.GetValueOrDefault(a.Version) > seq.GetValueOrDefault(a.Previous) ? "rolled forward" : "rolled back";
            history.Append($"""
                <tr data-activation="{E(a.Action)}"><td>{E(Clock.Iso(a.At))}</td><td><b>{E(a.Version)}</b></td><td>{E(a.Previous ?? "–")}</td>
                <td>{how}</td><td>{E(a.Actor)}</td></tr>
                """);
        }
        var options = versions.Select(v => (v.Version, v.Version)).ToList();
        var compare = versions.Count < 2 ? "" : $"""
            <section class="card"><h2>Compare two versions</h2><form method="get" action="{E(Url(id))}/diff" class="filters">
            {Select("From", "from", options, versions[^2].Version)}{Select("To", "to", options, versions[^1].Version)}
            <button class="btn primary" type="submit">Show diff</button></form></section>
            """;
        return Frame(http, $"Config {id}", $"""
            <p><a href="/admin/configs">← All configs</a></p>
            <section class="card"><h2>Versions</h2>
            <table><thead><tr><th>Version</th><th>Author</th><th>Created (UTC)</th><th>Comment</th><th>SHA-256</th><th></th></tr></thead>
            <tbody>{(versions.Count == 0 ? EmptyRow(6, "No version stored: the defaults apply.") : rows.ToString())}</tbody></table></section>
            {compare}
            <section class="card"><h2>Activations</h2>
            <table data-test="history"><thead><tr><th>When (UTC)</th><th>Made active</th><th>Replacing</th><th>How</th><th>By</th></tr></thead>
            <tbody>{(history.Length == 0 ? EmptyRow(5, "No version was made active yet.") : history.ToString())}</tbody></table></section>
            """);
    }

    private static string DiffUrl(string id, string from, string to) =>
        $"{Url(id)}/diff?from={Uri.EscapeDataString(from)}&to={Uri.EscapeDataString(to)}";

    private static IResult Show(string id, string version, HttpContext http, AppConfigs configs)
    {
        if (configs.Versions.Get(id, version) is not { } v)
        {
            return NotFound(http, "Configs", $"Config '{id}' has no version '{version}'.", Url(id));
        }
        return Frame(http, $"Config {id} @ {version}", $"""
            <p><a href="{E(Url(id))}">← Versions of {E(id)}</a></p>
            <section class="card"><dl class="kv"><dt>Version</dt><dd>{E(v.Version)} {(v.Active ? Badge("active") : "")}</dd>
            <dt>Author</dt><dd>{E(v.Author)}</dd><dt>Created</dt><dd>{E(Clock.Iso(v.CreatedAt))}</dd><dt>Comment</dt><dd>{E(v.Comment)}</dd>
            <dt>SHA-256</dt><dd class="mono">{E(v.Hash)}</dd></dl></section>
            <section class="card"><div class="card-head"><h2>Content</h2><span class="muted">secret (<code>~</code>) values are masked</span></div>
            <pre class="block" data-test="content">{E(ConfigAdmin.Masked(v))}</pre></section>
            """);
    }

    private static string DiffTable(List<ConfigDiffLine> lines)
    {
        var rows = new StringBuilder();
        foreach (var line in lines)
        {
            var (tone, what) = line.Op switch
            {
                "+" => ("add", "added"),
                "-" => ("del", "removed"),
                "=" => ("ctx", "unchanged"),
                "?" => ("ctx", "not comparable"),
                _ => ("", "changed"),
            };
            var before = line.Secret ? (line.Op is "+" ? "" : "(secret)") : line.Before;
            var after = line.Secret ? (line.Op is "-" ? "" : line.Op is "~" ? "(secret, changed)" : "(secret)") : line.After;
            rows.Append($"""<tr class="diff"><td>{Badge(what, tone == "add" ? "ok" : tone == "del" ? "bad" : "info")}</td><td class="mono">{E(line.Path)}</td><td class="mono"><span class="{(line.Op == "+" ? "" : "del")}">{E(before)}</span></td><td class="mono"><span class="{(line.Op == "-" ? "" : "add")}">{E(after)}</span></td></tr>""");
        }
        return $"""
            <table data-test="diff"><thead><tr><th>Change</th><th>Key</th><th>Before</th><th>After</th></tr></thead>
            <tbody>{(lines.Count == 0 ? EmptyRow(4, "The two versions hold the same values.") : rows.ToString())}</tbody></table>
            """;
    }

    private static IResult Diff(string id, string? from, string? to, HttpContext http, AppConfigs configs, BootstrapConfig bootstrap)
    {
        if (string.IsNullOrEmpty(from) || string.IsNullOrEmpty(to) || configs.Versions.Get(id, from) is not { } a || configs.Versions.Get(id, to) is not { } b)
        {
            return NotFound(http, "Configs", $"Config '{id}' has no version '{from}' or '{to}'.", Url(id));
        }
        return Frame(http, $"Config {id}: {from} → {to}", $"""
            <p><a href="{E(Url(id))}">← Versions of {E(id)}</a></p>
            <section class="card"><div class="card-head"><h2>{E(from)} → {E(to)}</h2><span class="muted">secrets are never shown, only whether they changed</span></div>
            {DiffTable(ConfigDiff.Compute(a, b, bootstrap.Keys()))}</section>
            """);
    }

    private static IResult ConfirmRollback(string id, string? to, HttpContext http, AppConfigs configs, BootstrapConfig bootstrap)
    {
        if (string.IsNullOrEmpty(to) || configs.Versions.Get(id, to) is not { } target)
        {
            return NotFound(http, "Configs", $"Config '{id}' has no version '{to}'.", Url(id));
        }
        if (!ConfigAdmin.AdminMayActivate(configs, bootstrap, target))
        {
            return Frame(http, $"Config {id}", $"""
                <p><a href="{E(Url(id))}">← Versions of {E(id)}</a></p>
                <section class="card" data-test="operator-only"><h2>Version {E(to)} cannot be activated from the panel</h2><p>{E(ConfigAdmin.OperatorOnlyReason)}</p></section>
                """, 403);
        }
        var active = configs.Versions.Get(id, null);
        var details = active is null
            ? "<p>No version is active now: the defaults apply.</p>"
            : $"<p>Version <b>{E(active.Version)}</b> is active now. Every process that follows the active version switches to <b>{E(to)}</b> within a poll. These values change:</p>{DiffTable(ConfigDiff.Compute(active, target, bootstrap.Keys()))}";
        return Confirm(http, $"Config {id}", $"Make version {to} of {id} active?", $"{Url(id)}/rollback", $"Activate version {to}", Url(id),
            details, ("to", to));
    }

    private static async Task<IResult> Rollback(string id, HttpContext http, AppConfigs configs, BootstrapConfig bootstrap, ILoggerFactory logs)
    {
        var form = await http.Request.ReadFormAsync();
        var to = form["to"].ToString();
        if (to.Length > 0 && !ConfigStore.IsVersion(to))
        {
            // Not echoed into the redirect below: a hostile "to" would make the Location header any size.
            return NotFound(http, "Configs", $"Config '{id}' has no such version.", Url(id));
        }
        if (form["confirm"] != "yes" || to.Length == 0)
        {
            return AskAgain(http, id, to);
        }
        return ConfigAdmin.Rollback(configs, bootstrap, id, to, AdminPanel.SignedIn(http), logs.CreateLogger(typeof(ConfigsPage))) switch
        {
            ConfigAdmin.RollbackOutcome.Done => Done(Url(id), "rolledback"),
            // Only a hand-made POST gets here: the confirmation page already refuses.
            ConfigAdmin.RollbackOutcome.OperatorOnly => AskAgain(http, id, to),
            _ => NotFound(http, "Configs", $"Config '{id}' has no version '{to}'.", Url(id)),
        };
    }

    /// <summary>Back to the confirmation page: nothing was done, so nothing is recorded.</summary>
    private static IResult AskAgain(HttpContext http, string id, string to)
    {
        AuditFilters.NothingDone(http);
        return TypedResults.Redirect($"{Url(id)}/rollback?to={Uri.EscapeDataString(to)}");
    }
}
