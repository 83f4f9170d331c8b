using System.Reflection;
using System.Runtime.Loader;

namespace Switchboard.Handlers.Plugins;

/// <summary>
/// One plugin's own load context, as in the .NET docs' plugin tutorial: its dependencies resolve
/// from its folder through its <c>.deps.json</c> (<see cref="AssemblyDependencyResolver"/>),
/// except <see cref="Shared"/>, which always resolve to the host's copies so that the plugin's
/// <c>IServiceHandler</c> is the host's type (a second copy of the contract would make every
/// handler class invisible to the host), whatever the plugin's folder holds.
/// </summary>
/// <param name="fullPath">The plugin's main assembly (its <c>.deps.json</c> beside it).</param>
/// <param name="shownPath">The same as the operator wrote it (the plugins folder as configured), for messages and listings.</param>
public sealed class PluginLoadContext(string fullPath, string shownPath) : AssemblyLoadContext($"plugin:{shownPath}")
{
    /// <summary>The assemblies whose types cross the boundary: the contract and what its members expose.</summary>
    public static readonly IReadOnlySet<string> Shared = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        typeof(IServiceHandler).Assembly.GetName().Name!,
        "Microsoft.Extensions.Logging.Abstractions",
        "Microsoft.Extensions.DependencyInjection.Abstractions",
        "System.Text.Json",
    };

    private readonly AssemblyDependencyResolver _resolver = new(fullPath);

    /// <summary>The plugin's main assembly, as found in the plugins folder (<c>handlers/acme/acme.dll</c>).</summary>
    public string PluginPath { get; } = shownPath;

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // Null: the default context (the host) resolves it, so shared types are one type.
        if (assemblyName.Name is { } name && Shared.Contains(name))
        {
            return null;
        }
        return _resolver.ResolveAssemblyToPath(assemblyName) is { } path ? LoadFromAssemblyPath(path) : null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
        _resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
}
