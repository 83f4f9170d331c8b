namespace Switchboard.Requests;

public static class LiveRegistration
{
    /// <summary>The HTTP roles' live channel registry, the event streams' tokens and their cross-origin policy (the channels follow the change feed's hub, registered in every role).</summary>
    public static IServiceCollection AddLiveChannels(this IServiceCollection services)
    {
        services.AddSingleton<LiveChannels>();
        services.AddSingleton<StreamTokens>();
        services.AddEventStreamCors();
        return services;
    }
}
