using Switchboard.Handlers.Plugins;
using Switchboard.Outbound;

namespace Switchboard.Handlers;

public static class HandlersRegistration
{
    /// <summary>
    /// The built-in handlers (in this order: <see cref="HandlerRegistry"/> lists them so) and their
    /// guarded HTTP clients, then the handler plugins of <paramref name="plugins"/> (none when null).
    /// </summary>
    public static IServiceCollection AddHandlers(this IServiceCollection services, PluginFolder? plugins = null)
    {
        // Every outbound client is a guarded one (Outbound/): checked addresses, no redirects.
        services.AddOutbound();
        services.AddGuardedHttpClient(OpenAiChatHandler.HttpClientName);
        services.AddSingleton<IServiceHandler, EchoRenderHandler>();
        services.AddSingleton<IServiceHandler, OpenAiChatHandler>();
        services.AddSingleton<IServiceHandler, OpenAiImageHandler>();
        services.AddSingleton<IServiceHandler, OpenAiEmbeddingsHandler>();
        services.AddGuardedHttpClient(AnthropicMessagesHandler.HttpClientName);
        services.AddSingleton<IServiceHandler, AnthropicMessagesHandler>();
        services.AddGuardedHttpClient(HttpJson.HttpJsonHandler.HttpClientName);
        services.AddSingleton<IServiceHandler, HttpJson.HttpJsonHandler>();
        // Last: loaded now, checked against the built-ins above.
        services.AddHandlerPlugins(plugins);
        services.AddSingleton<HandlerRegistry>();
        return services;
    }
}
