using Switchboard.Outbound;

namespace Switchboard.Handlers.Plugins;

public static class PluginRegistration
{
    /// <summary>
    /// Loads the plugins of <paramref name="folder"/> now, at registration, and adds their
    /// handlers after the built-in ones: a broken plugin, or one whose handler takes the id of a
    /// built-in, stops the start (or the CLI command) here, with its file named, before anything runs.
    /// </summary>
    public static IServiceCollection AddHandlerPlugins(this IServiceCollection services, PluginFolder? folder)
    {
        var plugins = folder is null ? [] : PluginLoader.Load(folder);
        if (plugins.Count == 0)
        {
            return services;
        }
        var builtIn = BuiltInIds(services);
        foreach (var (handler, outbound) in plugins)
        {
            if (builtIn.Contains(handler.Id))
            {
                throw new PluginException(HandlerRegistry.SourceOf(handler), $"its handler '{handler.Id}' has the id of a built-in handler: handler ids are unique");
            }
            services.AddSingleton(handler);
            if (outbound is not null)
            {
                // Bound when the options are first built: at start (they are validated on start).
                services.PostConfigure<OutboundOptions>(outbound.Bind);
            }
        }
        return services;
    }

    // The built-ins' ids are properties of instances: made once in a throwaway container (as the
    // CLI's registry is), only when there are plugins to check.
    private static HashSet<string> BuiltInIds(IServiceCollection services)
    {
        var probe = new ServiceCollection();
        foreach (var descriptor in services)
        {
            ((ICollection<ServiceDescriptor>)probe).Add(descriptor);
        }
        probe.AddLogging();
        using var provider = probe.BuildServiceProvider();
        return [.. provider.GetServices<IServiceHandler>().Select(h => h.Id)];
    }
}
