using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>The Handlers page (not built yet).</summary>
public static class HandlersPage
{
    public static RouteGroupBuilder MapHandlersPage(this RouteGroupBuilder panel)
    {
        panel.MapGet("/handlers", (HttpContext http) => Frame(http, "Handlers", """<section class="card"><p class="muted">Not built yet.</p></section>"""));
        return panel;
    }
}
