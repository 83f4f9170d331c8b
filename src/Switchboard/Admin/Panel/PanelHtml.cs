using System.Net;
using System.Text;

namespace Switchboard.Admin.Panel;

/// <summary>
/// The panel's HTML: the page frame (sidebar, header) and <see cref="E"/>, through which every
/// value from the store or the request passes before it is written.
/// </summary>
public static class PanelHtml
{
    /// <summary>HTML-encodes a value for text or a quoted attribute.</summary>
    public static string E(object? value) => WebUtility.HtmlEncode(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "");

    private static readonly string[] Soon = ["Handlers", "Offers", "Deals", "Users", "Requests", "Configs", "Resources"];

    public static IResult Page(int status, string title, string body) =>
        TypedResults.Content(body, "text/html; charset=utf-8", Encoding.UTF8, status);

    private static string Head(string title) =>
        $"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{E(title)} · Switchboard admin</title><link rel="stylesheet" href="/admin/panel.css"></head>
        """;

    /// <summary>A page inside the frame: the sidebar, the header with the user and the logout form.</summary>
    public static IResult Frame(string title, string user, string antiforgery, string body, int status = 200)
    {
        var nav = new StringBuilder();
        nav.Append("""<a class="nav-item active" href="/admin/">Dashboard</a>""");
        foreach (var name in Soon)
        {
            nav.Append($"""<span class="nav-item disabled" aria-disabled="true">{E(name)}<small>soon</small></span>""");
        }
        return Page(status, title, $"""
            {Head(title)}
            <body class="app">
            <aside class="sidebar"><div class="brand">Switchboard<span>admin</span></div><nav>{nav}</nav></aside>
            <div class="main">
            <header class="topbar"><h1>{E(title)}</h1>
            <div class="who"><span class="user" data-test="user">{E(user)}</span>
            <form method="post" action="/admin/logout">{antiforgery}<button class="btn ghost" type="submit">Log out</button></form></div></header>
            <main class="content">{body}</main>
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
}
