using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard.Config;
using Switchboard.Catalog;

namespace Switchboard.Health;

/// <summary>
/// Handlers that cannot run: offers not live for want of an endpoint profile or a credential
/// (<see cref="HandlerReadiness"/>), and the variables each executor reports missing (this
/// process's own in <c>serve</c>, the heartbeats' in an <c>api</c>). Degraded, never unhealthy:
/// the rest of the catalog sells. Names offers, profiles, config paths and variables, never a value.
/// </summary>
public sealed class HandlersHealthCheck(HandlerReadiness readiness, IServiceProvider services) : IHealthCheck
{
    private readonly ExecutorCredentials? _own = services.GetService<ExecutorCredentials>();
    private readonly ExecutorReports? _reports = services.GetService<ExecutorReports>();

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        var lines = readiness.Problems.Select(p => p.Text).ToList();
        IEnumerable<(string Owner, IReadOnlyCollection<string> Missing)> executors = _own is not null
            ? [("of this process", _own.Missing)]
            : (_reports?.Executors ?? []).Select(e => (e.Owner, (IReadOnlyCollection<string>)(e.MissingEnv ?? [])));
        foreach (var (owner, missing) in executors.Where(e => e.Missing.Count > 0))
        {
            lines.Add($"executor {owner} lacks environment variable(s) {string.Join(", ", missing)}");
        }
        return Task.FromResult(lines.Count == 0
            ? HealthCheckResult.Healthy("every offer's handler has its endpoint profile and credential")
            : HealthCheckResult.Degraded(string.Join("; ", lines)));
    }
}
