using Microsoft.AspNetCore.Components;

namespace Switchboard.Admin.Panel.Components;

/// <summary>
/// The base of every panel page (<c>@inherits PanelPage</c>): the request it renders for (static
/// server rendering: the page runs once per request, before the response starts, so it can set
/// the status), the store, and the redirect after a POST.
/// </summary>
public abstract class PanelPage : ComponentBase
{
    [CascadingParameter] protected HttpContext Http { get; set; } = default!;

    [Inject] protected Store Store { get; set; } = default!;

    [Inject] protected NavigationManager Nav { get; set; } = default!;

    /// <summary>The signed-in admin.</summary>
    protected string Admin => AdminPanel.SignedIn(Http);

    /// <summary>Sets the response's status (400 for a form with errors, 404 for an unknown name...).</summary>
    protected void Status(int status) => Http.Response.StatusCode = status;

    /// <summary>Redirects to <paramref name="path"/> with the notice <paramref name="code"/> (<see cref="PanelNotices"/>).</summary>
    protected void Done(string path, string code, long? n = null) =>
        Nav.NavigateTo($"{path}{(path.Contains('?', StringComparison.Ordinal) ? '&' : '?')}done={Uri.EscapeDataString(code)}{(n is { } v ? "&n=" + v.ToString(System.Globalization.CultureInfo.InvariantCulture) : "")}");

    /// <summary>
    /// A form posted without its confirmation, answered with the confirmation again: it changed
    /// nothing, so the audit trail does not record it.
    /// </summary>
    protected void NothingDone() => Audit.AuditFilters.NothingDone(Http);

    /// <summary>
    /// The URL's last segment in lower case, for the pages that act by it (enable, disable, an access
    /// change, retry, cancel): routing matched it whatever its case and trailing slash, so the page
    /// reads it the same way, and a URL in capitals does what it names (or, posted, nothing).
    /// </summary>
    protected string ActionSegment
    {
        get
        {
            var path = (Http.Request.Path.Value ?? "").TrimEnd('/');
            return path[(path.LastIndexOf('/') + 1)..].ToLowerInvariant();
        }
    }

    /// <summary>Reads one query value ("" when absent).</summary>
    protected string Query(string name) => Http.Request.Query[name].ToString();

    /// <summary>An age in seconds as the panel shows it (a queue's oldest wait).</summary>
    public static string Age(double seconds) =>
        seconds < 1 ? "–" : seconds < 120 ? $"{seconds:0} s" : seconds < 7200 ? $"{seconds / 60:0} min" : $"{seconds / 3600:0.#} h";

    /// <summary>A time as the panel shows it, in UTC.</summary>
    public static string When(long? ms) =>
        ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) : "–";
}
