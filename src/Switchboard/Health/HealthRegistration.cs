using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard.Catalog;
using Switchboard.Config;
using Switchboard.Handlers;

namespace Switchboard.Health;

/// <summary>
/// Health from the framework (<c>AddHealthChecks</c>, <c>MapHealthChecks</c>): <c>/healthz</c> is
/// liveness (runs no check: 200 while the process answers), <c>/readyz</c> readiness (runs every
/// check tagged <see cref="Ready"/>: 200 when healthy or degraded, 503 when one is unhealthy), each
/// component's state, duration and description as JSON. The roles without HTTP (executor, recon)
/// have no endpoint: an executor's state reaches the others through its heartbeat.
/// </summary>
public static class HealthRegistration
{
    public const string Ready = "ready";

    /// <summary>A check that hangs counts as failed after this long.</summary>
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The handler checks of the roles that sell or run jobs (after the store watcher, so configs are loaded), and the health checks of the HTTP roles.</summary>
    public static IServiceCollection AddSwitchboardHealth(this IServiceCollection services, BootstrapConfig bootstrap, Role role)
    {
        if (role is Role.Serve or Role.Api)
        {
            if (role == Role.Api && bootstrap.RedisUri is not null)
            {
                services.AddSingleton<ExecutorReports>();
                services.AddHostedService(sp => sp.GetRequiredService<ExecutorReports>());
            }
            services.AddSingleton(sp => new HandlerReadiness(
                sp.GetRequiredService<Catalog.CatalogCache>(), sp.GetRequiredService<AppConfigs>(), sp.GetRequiredService<HandlerRegistry>(),
                MissingEnv(sp), sp.GetRequiredService<ILogger<HandlerReadiness>>()));
            // The framework logs every degraded probe (every few seconds from a load balancer) as a
            // warning; the problems are logged once when they appear (HandlerReadiness, ExecutorCredentials).
            services.AddLogging(b => b.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.Error));
            var checks = services.AddHealthChecks()
                .AddCheck<StoreHealthCheck>("store", HealthStatus.Unhealthy, [Ready], CheckTimeout)
                .AddCheck<HandlersHealthCheck>("handlers", HealthStatus.Degraded, [Ready], CheckTimeout);
            if (bootstrap.RedisUri is not null)
            {
                checks.AddCheck<RedisHealthCheck>("redis", HealthStatus.Degraded, [Ready], CheckTimeout);
            }
        }
        if (role != Role.Recon)
        {
            services.AddHostedService<HandlerWatch>();
        }
        return services;
    }

    /// <summary>The variables missing on every executor: this process's own when it runs one, else the heartbeats' (api), else none.</summary>
    private static Func<IReadOnlySet<string>> MissingEnv(IServiceProvider services)
    {
        if (services.GetService<ExecutorCredentials>() is { } own)
        {
            return () => own.Missing;
        }
        if (services.GetService<ExecutorReports>() is { } reports)
        {
            return () => reports.MissingEverywhere;
        }
        IReadOnlySet<string> none = new HashSet<string>();
        return () => none;
    }

    public static IEndpointRouteBuilder MapSwitchboardHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteJson });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = r => r.Tags.Contains(Ready), ResponseWriter = WriteJson });
        return app;
    }

    /// <summary>
    /// <c>{"status": "healthy|degraded|unhealthy", "duration_ms": …, "components": {name: {status,
    /// duration_ms, description}}}</c>: descriptions only (the checks write them without secrets),
    /// never an exception's text.
    /// </summary>
    private static Task WriteJson(HttpContext http, HealthReport report)
    {
        http.Response.ContentType = "application/json";
        http.Response.Headers.CacheControl = "no-store";
        return http.Response.WriteAsJsonAsync(new Report(
            Status(report.Status), Milliseconds(report.TotalDuration),
            report.Entries.ToDictionary(e => e.Key, e => new Component(Status(e.Value.Status), Milliseconds(e.Value.Duration), e.Value.Description))));
    }

    private static string Status(HealthStatus status) => status.ToString().ToLowerInvariant();

    private static double Milliseconds(TimeSpan duration) => Math.Round(duration.TotalMilliseconds, 3);

    private sealed record Report(string Status, double DurationMs, Dictionary<string, Component> Components);

    private sealed record Component(string Status, double DurationMs, string? Description);
}
