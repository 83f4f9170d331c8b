using Switchboard.Hosting;

namespace Switchboard.Observability;

/// <summary>How each role exports its metrics (to be filled: /metrics on HTTP roles, --metrics-urls on the others).</summary>
public static class MetricsHosting
{
    public static IServiceCollection AddSwitchboardMetrics(this IServiceCollection services, IConfiguration configuration, Role role) => services;

    public static WebApplication UseSwitchboardMetrics(this WebApplication app) => app;
}
