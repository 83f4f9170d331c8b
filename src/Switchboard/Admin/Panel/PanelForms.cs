using System.Text;
using System.Text.RegularExpressions;
using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>
/// Form pieces shared by the panel's pages: fields with their errors beside them, the
/// confirmation step of every destructive action, badges and empty states.
/// </summary>
public static partial class PanelForms
{
    /// <summary>
    /// Errors by field, from the messages the shared validation writes (<c>catalog apply</c>'s
    /// "offers[0] (svc/act): price must be >= 0", or plain "price must be >= 0"): the first word
    /// after the place names the field. Messages that name no field of the form go under "".
    /// </summary>
    public static Dictionary<string, List<string>> ByField(IEnumerable<string> errors, IReadOnlyCollection<string> fields)
    {
        var byField = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var error in errors)
        {
            var text = Place().Replace(error, "");
            var key = text.Split(' ', 2)[0];
            var field = fields.Contains(key) ? key : "";
            if (!byField.TryGetValue(field, out var list))
            {
                byField[field] = list = [];
            }
            list.Add(field.Length == 0 ? text : text[(key.Length + 1)..]);
        }
        return byField;
    }

    [GeneratedRegex(@"^\w+\[\d+\](?: \([^)]*\))?: ")]
    private static partial Regex Place();

    /// <summary>The errors that name no field, as one alert above the form (empty when there are none).</summary>
    public static string FormErrors(Dictionary<string, List<string>>? errors) =>
        errors is not null && errors.TryGetValue("", out var general)
            ? $"""<div class="alert" role="alert" data-test="form-errors">{string.Join("<br>", general.Select(E))}</div>"""
            : "";

    /// <summary>A labelled input with its hint and, when the last submission had any, its errors beside it.</summary>
    public static string Field(string label, string name, string? value, Dictionary<string, List<string>>? errors = null,
        string? hint = null, string type = "text", string extra = "")
    {
        var messages = errors?.GetValueOrDefault(name);
        var invalid = messages is { Count: > 0 };
        var input = type == "textarea"
            ? $"""<textarea name="{E(name)}" id="f-{E(name)}" rows="5"{(invalid ? " aria-invalid=\"true\"" : "")} {extra}>{E(value)}</textarea>"""
            : $"""<input type="{E(type)}" name="{E(name)}" id="f-{E(name)}" value="{E(value)}"{(invalid ? " aria-invalid=\"true\"" : "")} {extra}>""";
        return $"""
            <div class="field{(invalid ? " invalid" : "")}"><label for="f-{E(name)}">{E(label)}</label>{input}
            {(hint is null ? "" : $"<small class=\"hint\">{E(hint)}</small>")}
            {(invalid ? $"<small class=\"field-error\" data-field-error=\"{E(name)}\">{string.Join("; ", messages!.Select(E))}</small>" : "")}</div>
            """;
    }

    /// <summary>A checkbox field (checked when <paramref name="on"/>).</summary>
    public static string Check(string label, string name, bool on) =>
        $"""<div class="field check"><label><input type="checkbox" name="{E(name)}" value="true"{(on ? " checked" : "")}> {E(label)}</label></div>""";

    /// <summary>A select of <paramref name="options"/> (value, text) with <paramref name="selected"/> chosen.</summary>
    public static string Select(string label, string name, IEnumerable<(string Value, string Text)> options, string? selected,
        Dictionary<string, List<string>>? errors = null)
    {
        var html = new StringBuilder($"""<div class="field"><label for="f-{E(name)}">{E(label)}</label><select name="{E(name)}" id="f-{E(name)}">""");
        foreach (var (value, text) in options)
        {
            html.Append($"""<option value="{E(value)}"{(value == selected ? " selected" : "")}>{E(text)}</option>""");
        }
        html.Append("</select>");
        if (errors?.GetValueOrDefault(name) is { Count: > 0 } messages)
        {
            html.Append($"""<small class="field-error" data-field-error="{E(name)}">{string.Join("; ", messages.Select(E))}</small>""");
        }
        return html.Append("</div>").ToString();
    }

    /// <summary>
    /// A small POST form of one button (antiforgery included) — for the actions that are not
    /// destructive, like enable/disable.
    /// </summary>
    public static string Button(HttpContext http, string action, string label, string style = "ghost", params (string Name, string Value)[] fields) =>
        $"""<form method="post" action="{E(action)}" class="inline">{Token(http)}{string.Concat(fields.Select(f => Hidden(f.Name, f.Value)))}<button class="btn {style} small" type="submit">{E(label)}</button></form>""";

    /// <summary>
    /// The first step of a destructive action: a link to a page that says what will happen
    /// and holds the POST form (works without JavaScript; nothing is changed by the GET).
    /// </summary>
    public static string DangerLink(string confirmPath, string label) =>
        $"""<a class="btn danger small" href="{E(confirmPath)}">{E(label)}</a>""";

    /// <summary>The confirmation page: what will happen, the POST form that does it, and a way back.</summary>
    public static IResult Confirm(HttpContext http, string title, string question, string action, string button, string back,
        string? details = null, params (string Name, string Value)[] fields) =>
        Frame(http, title, $"""
            <section class="card confirm"><h2>{E(question)}</h2>{details}
            <form method="post" action="{E(action)}" class="actions">{Token(http)}{string.Concat(fields.Select(f => Hidden(f.Name, f.Value)))}<input type="hidden" name="confirm" value="yes">
            <button class="btn danger" type="submit" data-test="confirm">{E(button)}</button><a class="btn ghost" href="{E(back)}">Cancel</a></form></section>
            """);

    /// <summary>A coloured label for a status or a flag.</summary>
    public static string Badge(string text, string? tone = null) =>
        $"""<span class="badge {E(tone ?? Tone(text))}">{E(text)}</span>""";

    private static string Tone(string text) => text switch
    {
        "succeeded" or "enabled" or "active" or "live" => "ok",
        "failed" or "disabled" or "revoked" => "bad",
        "running" or "queued" or "waiting" => "info",
        _ => "",
    };

    /// <summary>A table's row when it has none.</summary>
    public static string EmptyRow(int columns, string text) => $"""<tr><td colspan="{columns}" class="muted empty">{E(text)}</td></tr>""";

    /// <summary>A page for a thing that is not there (an unknown name in the path).</summary>
    public static IResult NotFound(HttpContext http, string title, string text, string back) =>
        Frame(http, title, $"""<section class="card"><p>{E(text)}</p><p><a href="{E(back)}">Back</a></p></section>""", 404);

    /// <summary>
    /// A number field as the shared validators take it: a whole number when the text is one, the
    /// text itself otherwise (so the validator says what is wrong with it), null when empty.
    /// </summary>
    public static System.Text.Json.Nodes.JsonNode? Number(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null
        : long.TryParse(text.Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var n)
            ? System.Text.Json.Nodes.JsonValue.Create(n)
            : System.Text.Json.Nodes.JsonValue.Create(text.Trim());
}
