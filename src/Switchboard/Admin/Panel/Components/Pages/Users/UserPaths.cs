using Switchboard.Users;

namespace Switchboard.Admin.Panel.Components.Pages.Users;

/// <summary>Where a user's page is: by name, or by id when the name (stored before the name rules) breaks them, as '/' cannot be in a route value.</summary>
public static class UserPaths
{
    public static string Of(string name) => "/admin/users/" + Uri.EscapeDataString(name);

    public static string Of(string id, string name) => Of(UserNames.IsValid(name) ? name : id);
}
