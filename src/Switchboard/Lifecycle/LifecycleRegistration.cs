namespace Switchboard.Lifecycle;

public static class LifecycleRegistration
{
    /// <summary>
    /// The request's lifecycle, with the handlers and observers registered before or after it
    /// (features add theirs: <c>AddDealSteps()</c>, the executor's stop on cancel).
    /// </summary>
    public static IServiceCollection AddLifecycle(this IServiceCollection services)
    {
        services.AddSingleton<RequestLifecycle>();
        return services;
    }
}
