using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>The Offers page (not built yet).</summary>
public static class OffersPage
{
    public static RouteGroupBuilder MapOffersPage(this RouteGroupBuilder panel)
    {
        panel.MapGet("/offers", (HttpContext http) => Frame(http, "Offers", """<section class="card"><p class="muted">Not built yet.</p></section>"""));
        return panel;
    }
}
