namespace Switchboard.Admin.Panel.Components.Pages.Handlers;

/// <summary>The handler pages' paths: the list and a handler's page.</summary>
public static class HandlerPaths
{
    public const string List = "/admin/handlers";

    public static string Of(string id) => $"{List}/{Uri.EscapeDataString(id)}";
}
