using System.Net;
using System.Text;

namespace Switchboard.Errors;

/// <summary>
/// <c>GET /docs/problems</c>: every stable problem code with its status and meaning, one anchor
/// per code, so that a problem's <c>type</c> resolves to a page that explains it. Built once from
/// <see cref="ProblemCodes.All"/>, like docs/problems.md (<see cref="Markdown"/>).
/// </summary>
public static class ProblemsPage
{
    private static readonly Lazy<string> Html = new(BuildHtml);

    public static IEndpointRouteBuilder MapProblemsPage(this IEndpointRouteBuilder app)
    {
        app.MapGet(ProblemCodes.PageUrl, () => TypedResults.Text(Html.Value, "text/html; charset=utf-8"))
            .ExcludeFromDescription();
        return app;
    }

    private const string Intro =
        "Every error answer of Switchboard's HTTP API is `application/problem+json` (RFC 9457) with a stable `code` "
        + "that clients can branch on; `title` and `detail` are for people and may change. A problem's `type` "
        + "links to its code below.";

    private static string BuildHtml()
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Switchboard problem codes</title>")
            .Append("<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}")
            .Append("td,th{text-align:left;padding:.3rem .6rem;vertical-align:top}tr:target{background:#ffd}</style></head><body>")
            .Append("<h1>Problem codes</h1><p>").Append(E(Intro).Replace("`", "")).Append("</p>")
            .Append("<table><thead><tr><th>code</th><th>status</th><th>meaning</th></tr></thead><tbody>");
        foreach (var problem in ProblemCodes.All)
        {
            html.Append("<tr id=\"").Append(E(ProblemCodes.Anchor(problem.Code))).Append("\"><td><code>").Append(E(problem.Code)).Append("</code></td><td>")
                .Append(problem.Status == 0 ? "any" : problem.Status).Append("</td><td>").Append(E(problem.Meaning).Replace("`", ""))
                .Append("</td></tr>");
        }
        return html.Append("</tbody></table><p><a href=\"/docs/\">API reference</a></p></body></html>").ToString();
    }

    /// <summary>docs/problems.md: the same list, for readers of the repository (a test keeps the file equal to this).</summary>
    public static string Markdown()
    {
        var md = new StringBuilder();
        md.Append("# Problem codes\n\n")
            .Append("<!-- Generated from src/Switchboard/Errors/ProblemCodes.cs: edit the list there; the test ProblemCodesTests keeps this file equal to it. -->\n\n")
            .Append(Intro).Append(" A running server serves this list at `").Append(ProblemCodes.PageUrl).Append("`.\n\n")
            .Append("| code | status | meaning |\n| --- | --- | --- |\n");
        foreach (var problem in ProblemCodes.All)
        {
            md.Append("| `").Append(problem.Code).Append("` | ").Append(problem.Status == 0 ? "any" : problem.Status)
                .Append(" | ").Append(problem.Meaning.Replace("|", "\\|")).Append(" |\n");
        }
        return md.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
