using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>The Configs page (not built yet).</summary>
public static class ConfigsPage
{
    public static RouteGroupBuilder MapConfigsPage(this RouteGroupBuilder panel)
    {
        panel.MapGet("/configs", (HttpContext http) => Frame(http, "Configs", """<section class="card"><p class="muted">Not built yet.</p></section>"""));
        return panel;
    }
}
