using System.Reflection;

namespace Switchboard.Handlers.Plugins;

/// <summary>
/// Loads the handler plugins of a <see cref="PluginFolder"/> at start: each in its own
/// <see cref="PluginLoadContext"/>, checked against the contract's version, each public
/// non-abstract <see cref="IServiceHandler"/> made with its public constructor that takes nothing,
/// or the guarded <see cref="HttpClient"/> (<see cref="PluginOutbound"/>). Any
/// problem is a <see cref="PluginException"/> naming the file: a broken plugin stops the start,
/// it is never skipped (offers naming its handlers would fail at run time instead).
/// </summary>
public static class PluginLoader
{
    public static IReadOnlyList<PluginHandler> Load(PluginFolder folder)
    {
        if (!Directory.Exists(folder.Path))
        {
            return folder.Named
                ? throw new PluginException(folder.Path, "the plugins folder the bootstrap config names (plugins.path) does not exist")
                : [];
        }
        string[] files, directories;
        try
        {
            files = [.. Directory.EnumerateFiles(folder.Path, "*.dll").Order(StringComparer.Ordinal)];
            directories = [.. Directory.EnumerateDirectories(folder.Path).Order(StringComparer.Ordinal)];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PluginException(folder.Path, $"the plugins folder cannot be read: {ex.Message}", ex);
        }
        if (files.FirstOrDefault() is { } loose)
        {
            var name = Path.GetFileNameWithoutExtension(loose);
            throw new PluginException(loose, $"a plugin goes in a folder of its own: {Path.Combine(folder.Path, name, name + ".dll")}, with its .deps.json and dependencies (what `dotnet publish` writes)");
        }
        var handlers = new List<PluginHandler>();
        foreach (var directory in directories)
        {
            var name = Path.GetFileName(directory);
            if (name.StartsWith('.'))
            {
                continue; // .git, an editor's folder: not a plugin
            }
            var file = Path.Combine(directory, name + ".dll");
            if (!File.Exists(file))
            {
                throw new PluginException(file, $"not found: each folder in {folder.Path} is a plugin, and holds the plugin's assembly named as the folder");
            }
            foreach (var handler in LoadFile(file))
            {
                if (handlers.FirstOrDefault(h => h.Handler.Id == handler.Handler.Id) is { } other)
                {
                    throw new PluginException(file, $"its handler '{handler.Handler.Id}' has the id of a handler of {HandlerRegistry.SourceOf(other.Handler)}: handler ids are unique");
                }
                handlers.Add(handler);
            }
        }
        return handlers;
    }

    /// <summary>
    /// The handlers of one plugin assembly (at <paramref name="file"/>, as the operator's folder
    /// names it), each in a new load context: every call loads the file again (a process loads
    /// its plugins once, at start; the CLI once per command), so each container gets handlers of
    /// its own, whose outbound clients bind to its own options.
    /// </summary>
    public static IReadOnlyList<PluginHandler> LoadFile(string file) => Instantiate(file, LoadAssembly(file, Path.GetFullPath(file)));

    private static Assembly LoadAssembly(string file, string full)
    {
        Assembly assembly;
        try
        {
            assembly = new PluginLoadContext(full, file).LoadFromAssemblyPath(full);
        }
        catch (BadImageFormatException)
        {
            throw new PluginException(file, "is not a .NET assembly (a corrupt or truncated copy, or a native library)");
        }
        catch (Exception ex) when (ex is FileLoadException or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            // InvalidOperationException: the resolver could not read the plugin's .deps.json.
            throw new PluginException(file, $"cannot be loaded: {ex.Message}", ex);
        }
        var built = ContractVersion.ReferencedBy(assembly)
            ?? throw new PluginException(file, $"does not reference {ContractVersion.Name}, so it has no handlers: build it against that project (docs/handlers.md, Plugins)");
        if (ContractVersion.Problem(built, ContractVersion.Host) is { } problem)
        {
            throw new PluginException(file, problem);
        }
        return assembly;
    }

    private static List<PluginHandler> Instantiate(string file, Assembly assembly)
    {
        Type[] types;
        try
        {
            types = assembly.GetExportedTypes();
        }
        catch (Exception ex) when (ex is ReflectionTypeLoadException or FileNotFoundException or FileLoadException or TypeLoadException)
        {
            var cause = ex is ReflectionTypeLoadException r ? r.LoaderExceptions.FirstOrDefault(e => e is not null)?.Message ?? ex.Message : ex.Message;
            throw new PluginException(file, $"its types cannot be loaded (is a dependency missing from its folder? publish it with its dependencies): {cause}", ex);
        }
        var handlers = new List<PluginHandler>();
        foreach (var type in types.Where(t => t.IsClass && !t.IsAbstract && typeof(IServiceHandler).IsAssignableFrom(t)).OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            var constructor = type.ContainsGenericParameters ? null : type.GetConstructor(Type.EmptyTypes) ?? type.GetConstructor([typeof(HttpClient)]);
            if (constructor is null)
            {
                throw new PluginException(file, $"{type.FullName} has no public constructor taking nothing or an HttpClient (a plugin's handler is made with one of those)");
            }
            var outbound = constructor.GetParameters().Length == 1 ? new PluginOutbound() : null;
            IServiceHandler handler;
            string id;
            try
            {
                handler = (IServiceHandler)constructor.Invoke(outbound is null ? null : [outbound.CreateClient()]);
                id = handler.Id;
            }
            catch (TargetInvocationException ex) when (ex.InnerException is { } inner)
            {
                throw new PluginException(file, $"{type.FullName} failed to construct: {inner.GetType().Name}: {inner.Message}", inner);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Id threw: the plugin's code, whatever it throws, is the plugin's problem to name.
                throw new PluginException(file, $"{type.FullName} failed to give its Id: {ex.GetType().Name}: {ex.Message}", ex);
            }
            if (!HandlerRegistry.IsValidId(id))
            {
                throw new PluginException(file, $"{type.FullName} has the id '{id}': a handler id is <module>.<method> in lowercase (a-z, 0-9 and _, a letter first)");
            }
            handlers.Add(new PluginHandler(handler, outbound));
        }
        return handlers.Count > 0
            ? handlers
            : throw new PluginException(file, "has no public class implementing IServiceHandler");
    }
}

/// <summary>A plugin's handler, and the guard of the <see cref="HttpClient"/> it took (null when it took none).</summary>
public sealed record PluginHandler(IServiceHandler Handler, PluginOutbound? Outbound);
