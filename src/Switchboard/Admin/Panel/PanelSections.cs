namespace Switchboard.Admin.Panel;

/// <summary>
/// The sidebar's sections, in order: each page's title and path, and the sub-pages listed under
/// it (a sub-page marks its own link active, not its section's).
/// </summary>
public sealed record PanelSection(string Title, string Path, params PanelSection[] Subs)
{
    /// <summary>Whether <paramref name="path"/> is this section's page or one below it (but not a sub-page's).</summary>
    public bool Contains(string path) =>
        Path == "/admin/" ? path.TrimEnd('/') == "/admin" : path.StartsWith(Path, StringComparison.Ordinal) && !Subs.Any(s => path.StartsWith(s.Path, StringComparison.Ordinal));
}

public static class PanelSections
{
    public static readonly IReadOnlyList<PanelSection> All =
    [
        new("Dashboard", "/admin/"),
        new("Handlers", "/admin/handlers"),
        new("Offers", "/admin/offers"),
        new("Deals", "/admin/deals"),
        new("Users", "/admin/users", new PanelSection("Spend", "/admin/spend"), new PanelSection("Webhooks", "/admin/webhooks")),
        new("Plans", "/admin/plans"),
        new("Requests", "/admin/requests"),
        new("Configs", "/admin/configs", new PanelSection("Audit trail", "/admin/audit")),
        new("Resources", "/admin/resources"),
    ];
}
