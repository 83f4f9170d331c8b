using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>The Requests page (not built yet).</summary>
public static class RequestsPage
{
    public static RouteGroupBuilder MapRequestsPage(this RouteGroupBuilder panel)
    {
        panel.MapGet("/requests", (HttpContext http) => Frame(http, "Requests", """<section class="card"><p class="muted">Not built yet.</p></section>"""));
        return panel;
    }
}
