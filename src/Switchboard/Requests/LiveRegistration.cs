namespace Switchboard.Requests;

public static class LiveRegistration
{
    /// <summary>The HTTP roles' live channel registry, the shared live status poller and the event streams' tokens.</summary>
    public static IServiceCollection AddLiveChannels(this IServiceCollection services)
    {
        services.AddSingleton<LiveChannels>();
        services.AddSingleton<StreamTokens>();
        services.AddSingleton<LiveStatusPoller>();
        services.AddHostedService(sp => sp.GetRequiredService<LiveStatusPoller>());
        return services;
    }
}
