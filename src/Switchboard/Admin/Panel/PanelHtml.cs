using System.Net;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;

namespace Switchboard.Admin.Panel;

/// <summary>
/// The panel's HTML: the page frame (sidebar, header) and <see cref="E"/>, through which every
/// value from the store or the request passes before it is written.
/// </summary>
public static class PanelHtml
{
    /// <summary>HTML-encodes a value for text or a quoted attribute.</summary>
    public static string E(object? value) => WebUtility.HtmlEncode(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "");

    /// <summary>The sidebar: each page's title and path, in order.</summary>
    public static readonly IReadOnlyList<(string Title, string Path)> Pages =
    [
        ("Dashboard", "/admin/"), ("Handlers", "/admin/handlers"), ("Offers", "/admin/offers"), ("Deals", "/admin/deals"),
        ("Users", "/admin/users"), ("Requests", "/admin/requests"), ("Configs", "/admin/configs"), ("Resources", "/admin/resources"),
    ];

    public static IResult Page(int status, string title, string body) =>
        TypedResults.Content(body, "text/html; charset=utf-8", Encoding.UTF8, status);

    private static string Head(string title) =>
        $"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{E(title)} · Switchboard admin</title><link rel="stylesheet" href="/admin/panel.css"></head>
        """;

    /// <summary>The antiforgery token of this response as a hidden field: every panel form carries one.</summary>
    public static string Token(HttpContext http)
    {
        var tokens = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        return Hidden(tokens.FormFieldName, tokens.RequestToken);
    }

    /// <summary>
    /// A page inside the frame: the sidebar (the page whose path the request is under marked
    /// active), the header with the signed-in admin and the logout form.
    /// </summary>
    public static IResult Frame(HttpContext http, string title, string body, int status = 200, string? actions = null)
    {
        var path = http.Request.Path.Value ?? "/admin/";
        var nav = new StringBuilder();
        foreach (var (name, href) in Pages)
        {
            var active = href == "/admin/" ? path.TrimEnd('/') == "/admin" : path.StartsWith(href, StringComparison.Ordinal);
            nav.Append($"""<a class="nav-item{(active ? " active" : "")}" href="{href}"{(active ? " aria-current=\"page\"" : "")}>{E(name)}</a>""");
        }
        return Page(status, title, $"""
            {Head(title)}
            <body class="app">
            <aside class="sidebar"><div class="brand">Switchboard<span>admin</span></div><nav>{nav}</nav></aside>
            <div class="main">
            <header class="topbar"><h1>{E(title)}</h1><div class="head-actions">{actions}</div>
            <div class="who"><span class="user" data-test="user">{E(AdminPanel.SignedIn(http))}</span>
            <form method="post" action="/admin/logout">{Token(http)}<button class="btn ghost" type="submit">Log out</button></form></div></header>
            <main class="content">{Notice(http)}{body}</main>
            </div></body></html>
            """);
    }

    /// <summary>A page without the frame (login, refusals).</summary>
    public static IResult Bare(string title, string body, int status = 200) =>
        Page(status, title, $"""
            {Head(title)}
            <body class="bare"><div class="card narrow"><div class="brand dark">Switchboard<span>admin</span></div>{body}</div></body></html>
            """);

    public static string Hidden(string name, string? value) => $"""<input type="hidden" name="{E(name)}" value="{E(value)}">""";

    /// <summary>
    /// What a POST did, shown once on the page it redirects to (<c>?done=CODE</c>). Only the
    /// codes below are shown, with texts from here: a link cannot make the panel say anything else.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Notices = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["saved"] = "Saved.",
        ["deleted"] = "Deleted.",
        ["enabled"] = "Enabled.",
        ["disabled"] = "Disabled.",
        ["created"] = "Created.",
        ["credits"] = "Credits moved; the ledger below shows the entry.",
        ["revoked"] = "Key revoked: it no longer authenticates.",
        ["renamed"] = "User renamed: its keys, credits and ledger are unchanged.",
        ["retried"] = "Queued again as a new run (charged again).",
        ["cancelled"] = "Cancelled and refunded.",
        ["rolledback"] = "Rolled back: the chosen version is active again.",
    };

    private static string Notice(HttpContext http) =>
        http.Request.Query["done"] is [{ } code] && Notices.TryGetValue(code!, out var text)
            ? $"""<p class="notice" role="status">{E(text)}</p>"""
            : "";

    /// <summary>The path to go to after a POST, with the notice to show there.</summary>
    public static IResult Done(string path, string code) =>
        TypedResults.Redirect($"{path}{(path.Contains('?', StringComparison.Ordinal) ? '&' : '?')}done={Uri.EscapeDataString(code)}");
}
