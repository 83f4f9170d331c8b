using Microsoft.Extensions.Options;

namespace Switchboard.Outbound;

/// <summary>Wires the guard into the container: validated options and named HttpClients built on <see cref="OutboundGuard"/>.</summary>
public static class OutboundRegistration
{
    public static IServiceCollection AddOutbound(this IServiceCollection services)
    {
        services.AddOptions<OutboundOptions>().BindConfiguration(OutboundOptions.Section).ValidateOnStart();
        return services;
    }

    /// <summary>
    /// A named client for an upstream: the guard's handler, no timeout of its own (the job's
    /// timeout applies), and none of the factory's retry or logging handlers added.
    /// </summary>
    public static IHttpClientBuilder AddGuardedHttpClient(this IServiceCollection services, string name) =>
        services.AddHttpClient(name, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => OutboundGuard.CreateHandler(sp.GetRequiredService<IOptions<OutboundOptions>>().Value));
}
