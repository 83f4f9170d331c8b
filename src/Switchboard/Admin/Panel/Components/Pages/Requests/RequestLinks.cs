namespace Switchboard.Admin.Panel.Components.Pages.Requests;

/// <summary>Links to a request's page, and its id as the panel's tables show it (other pages link to requests too).</summary>
public static class RequestLinks
{
    public static string PathOf(string id) => "/admin/requests/" + Uri.EscapeDataString(id);

    /// <summary>A request id shortened for a table (the link holds the whole).</summary>
    public static string Short(string id) => id.Length > 12 ? id[..12] + "…" : id;
}
