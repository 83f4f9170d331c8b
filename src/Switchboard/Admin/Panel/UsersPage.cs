using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>The Users page (not built yet).</summary>
public static class UsersPage
{
    public static RouteGroupBuilder MapUsersPage(this RouteGroupBuilder panel)
    {
        panel.MapGet("/users", (HttpContext http) => Frame(http, "Users", """<section class="card"><p class="muted">Not built yet.</p></section>"""));
        return panel;
    }
}
