namespace Switchboard.Usage;

public static class UsageRegistration
{
    /// <summary>
    /// The executor's usage counting: the recorder its job runner calls once per handler attempt,
    /// and the flusher that writes the counts to the store. Register it before the executor's
    /// own hosted services: hosts stop services in reverse order, so the flusher then stops
    /// (and writes the rest) after the last job finished.
    /// </summary>
    public static IServiceCollection AddUsage(this IServiceCollection services)
    {
        services.AddSingleton<UsageRecorder>();
        services.AddSingleton<UsageMetrics>();
        services.AddSingleton<UsageFlusher>();
        services.AddHostedService(sp => sp.GetRequiredService<UsageFlusher>());
        return services;
    }
}
