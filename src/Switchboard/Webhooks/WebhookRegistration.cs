using Microsoft.Extensions.Options;
using Switchboard.Lifecycle;
using Switchboard.Live;
using Switchboard.Outbound;

namespace Switchboard.Webhooks;

public static class WebhookRegistration
{
    /// <summary>
    /// Every role: the options, the secrets' seal, and the outbox's state handlers (any process
    /// may end a request: the executor, the api's cancel, recon's expiry).
    /// </summary>
    public static IServiceCollection AddWebhookOutbox(this IServiceCollection services)
    {
        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section)
            .Validate(o => o.Check() is null, "Switchboard:Webhooks: see docs/configuration.md (MaxUrlLength, MaxEndpointsPerUser, retry delays and window, RequestTimeout < Lease, PollInterval, MaxConcurrency)")
            .ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<WebhookOptions>>().Value);
        services.AddSingleton<WebhookSecrets>();
        services.AddSingleton<WebhookSignal>();
        foreach (var kind in new[] { RequestKind.Offer, RequestKind.Deal })
        {
            foreach (var state in WebhookEvents.Statuses)
            {
                services.AddSingleton<IStateHandler>(sp => new WebhookOutbox(kind, state, sp.GetRequiredService<WebhookSignal>(), sp.GetRequiredService<IChangePublisher>()));
            }
        }
        return services;
    }

    /// <summary>The delivery worker (serve, api and recon roles) and its guarded client.</summary>
    public static IServiceCollection AddWebhookDelivery(this IServiceCollection services)
    {
        services.AddGuardedHttpClient(WebhookSender.ClientName);
        services.AddSingleton<WebhookSender>();
        services.AddHostedService<WebhookDelivery>();
        return services;
    }
}
