namespace Switchboard.Admin.Panel.Components.Pages.Configs;

/// <summary>The URLs of the configs pages, each id and version escaped once here.</summary>
internal static class ConfigLinks
{
    public const string List = "/admin/configs";

    public static string Of(string id) => $"{List}/{Uri.EscapeDataString(id)}";

    public static string Version(string id, string version) => $"{Of(id)}/versions/{Uri.EscapeDataString(version)}";

    public static string Diff(string id, string from, string to) =>
        $"{Of(id)}/diff?from={Uri.EscapeDataString(from)}&to={Uri.EscapeDataString(to)}";

    public static string Rollback(string id, string to) => $"{Of(id)}/rollback?to={Uri.EscapeDataString(to)}";
}
