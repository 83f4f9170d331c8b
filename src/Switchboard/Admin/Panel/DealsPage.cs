using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>The Deals page (not built yet).</summary>
public static class DealsPage
{
    public static RouteGroupBuilder MapDealsPage(this RouteGroupBuilder panel)
    {
        panel.MapGet("/deals", (HttpContext http) => Frame(http, "Deals", """<section class="card"><p class="muted">Not built yet.</p></section>"""));
        return panel;
    }
}
