using Switchboard.Users;

namespace Switchboard.Admin.Panel.Components.Pages.Users;

/// <summary>Where a user's page is: by name, or by id when the name (stored before the name rules) breaks them, as '/' cannot be in a route value.</summary>
public static class UserPaths
{
    public static string Of(string name) => "/admin/users/" + Uri.EscapeDataString(name);

    public static string Of(string id, string name) => Of(UserNames.IsValid(name) ? name : id);

    public static string Request(string id) => "/admin/requests/" + Uri.EscapeDataString(id);

    /// <summary>A request id shortened for a table (the link holds the whole).</summary>
    public static string Short(string id) => id.Length > 12 ? id[..12] + "…" : id;
}
