using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>The Resources page (not built yet).</summary>
public static class ResourcesPage
{
    public static RouteGroupBuilder MapResourcesPage(this RouteGroupBuilder panel)
    {
        panel.MapGet("/resources", (HttpContext http) => Frame(http, "Resources", """<section class="card"><p class="muted">Not built yet.</p></section>"""));
        return panel;
    }
}
