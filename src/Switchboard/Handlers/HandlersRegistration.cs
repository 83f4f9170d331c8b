using Switchboard.Outbound;

namespace Switchboard.Handlers;

public static class HandlersRegistration
{
    /// <summary>The built-in handlers (in this order: <see cref="HandlerRegistry"/> lists them so) and their guarded HTTP clients.</summary>
    public static IServiceCollection AddHandlers(this IServiceCollection services)
    {
        // Every outbound client is a guarded one (Outbound/): checked addresses, no redirects.
        services.AddOutbound();
        services.AddGuardedHttpClient(OpenAiChatHandler.HttpClientName);
        services.AddSingleton<IServiceHandler, EchoRenderHandler>();
        services.AddSingleton<IServiceHandler, OpenAiChatHandler>();
        services.AddGuardedHttpClient(HttpJson.HttpJsonHandler.HttpClientName);
        services.AddSingleton<IServiceHandler, HttpJson.HttpJsonHandler>();
        services.AddSingleton<HandlerRegistry>();
        return services;
    }
}
