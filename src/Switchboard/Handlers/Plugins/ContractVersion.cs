using System.Reflection;

namespace Switchboard.Handlers.Plugins;

/// <summary>
/// Which builds of the contract (<c>Switchboard.Handlers.Abstractions</c>) a plugin may be built
/// against: the host's major version (a major changes or removes members), and no newer minor
/// (a newer one may add members the plugin calls and this host lacks). The same rule as a NuGet
/// package's semantic version.
/// </summary>
public static class ContractVersion
{
    public static Version Host { get; } = typeof(IServiceHandler).Assembly.GetName().Version!;

    /// <summary>Null when a plugin built against <paramref name="built"/> runs on <paramref name="host"/>; otherwise why not.</summary>
    public static string? Problem(Version built, Version host)
    {
        if (built.Major != host.Major)
        {
            return $"it is built against {Name} {Show(built)}, a different major version from this Switchboard's {Show(host)}: rebuild it against {Show(host)}";
        }
        return built.Minor > host.Minor
            ? $"it is built against {Name} {Show(built)}, newer than this Switchboard's {Show(host)}: upgrade Switchboard or rebuild the plugin against {Show(host)}"
            : null;
    }

    /// <summary>The contract version <paramref name="assembly"/> references, or null when it references none (not a handler plugin).</summary>
    public static Version? ReferencedBy(Assembly assembly) =>
        assembly.GetReferencedAssemblies().FirstOrDefault(a => string.Equals(a.Name, Name, StringComparison.OrdinalIgnoreCase))?.Version;

    public static string Name { get; } = typeof(IServiceHandler).Assembly.GetName().Name!;

    private static string Show(Version v) => $"{v.Major}.{v.Minor}.{Math.Max(v.Build, 0)}";
}
