namespace Switchboard.Requests;

public static class LiveRegistration
{
    /// <summary>The HTTP roles' live channel registry and the shared live status poller.</summary>
    public static IServiceCollection AddLiveChannels(this IServiceCollection services)
    {
        services.AddSingleton<LiveChannels>();
        services.AddSingleton<LiveStatusPoller>();
        services.AddHostedService(sp => sp.GetRequiredService<LiveStatusPoller>());
        return services;
    }
}
