using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using Switchboard.Handlers.Plugins;

namespace Switchboard.Handlers;

/// <summary>The handlers this process has, by id: the built-in ones, then the plugins' (Handlers/Plugins/).</summary>
public sealed partial class HandlerRegistry
{
    public const string BuiltIn = "built-in";

    private readonly Dictionary<string, IServiceHandler> _byId = new(StringComparer.Ordinal);
    private readonly List<IServiceHandler> _inOrder = [];

    public HandlerRegistry(IEnumerable<IServiceHandler> handlers)
    {
        foreach (var handler in handlers)
        {
            if (_byId.TryGetValue(handler.Id, out var other))
            {
                // A plugin that takes a built-in's id is refused at start (PluginRegistration); this
                // is the last guard, for whatever registered handlers some other way.
                var plugin = SourceOf(handler) != BuiltIn ? handler : other;
                throw SourceOf(plugin) == BuiltIn
                    ? new InvalidOperationException($"two built-in handlers have the id '{handler.Id}'")
                    : new PluginException(SourceOf(plugin), $"its handler '{handler.Id}' has the id of a handler of {SourceOf(plugin == handler ? other : handler)}: handler ids are unique");
            }
            _byId[handler.Id] = handler;
            _inOrder.Add(handler);
        }
    }

    public IReadOnlySet<string> Ids => _byId.Keys.ToHashSet(StringComparer.Ordinal);

    public IServiceHandler? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>Every handler, built-in ones first, each with where it comes from and its version (<c>handlers list</c>).</summary>
    public IReadOnlyList<HandlerOrigin> Origins => [.. _inOrder.Select(h => new HandlerOrigin(h.Id, SourceOf(h), VersionOf(h)))];

    /// <summary><c>built-in</c>, or the plugin's file as the plugins folder names it.</summary>
    public static string SourceOf(IServiceHandler handler) =>
        AssemblyLoadContext.GetLoadContext(handler.GetType().Assembly) is PluginLoadContext plugin ? plugin.PluginPath : BuiltIn;

    /// <summary>The version of the assembly the handler is in (a plugin's own; Switchboard's for a built-in).</summary>
    public static string VersionOf(IServiceHandler handler)
    {
        var assembly = handler.GetType().Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        // The informational version carries the commit after '+': the listing keeps the release.
        return informational?.Split('+')[0] ?? assembly.GetName().Version?.ToString(3) ?? "?";
    }

    /// <summary>The rule of a handler id: <c>module.method</c>, lowercase, as the catalog's.</summary>
    public static bool IsValidId(string? id) => id is not null && IdPattern().IsMatch(id);

    [GeneratedRegex("^[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*\\z")]
    private static partial Regex IdPattern();
}

/// <summary>A handler of this process: its id, <c>built-in</c> or its plugin's file, and its assembly's version.</summary>
public sealed record HandlerOrigin(string Id, string Source, string Version);
