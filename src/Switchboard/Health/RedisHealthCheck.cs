using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;
using Switchboard.Resources;

namespace Switchboard.Health;

/// <summary>
/// Redis, which holds the job queue and the resource gate in the distributed deployment: a PING on
/// the process's own multiplexer (not a second connection, as <c>AspNetCore.HealthChecks.Redis</c>
/// would open), and this process's executors' view of the gate (<see cref="GateHealth"/>).
/// Degraded, not unhealthy, when down: submissions are still committed and answered 202 and recon
/// sends their messages when Redis is back (operations.md, "Failures"), so taking every api out of
/// its load balancer would turn a delay into an outage.
/// </summary>
public sealed class RedisHealthCheck(IConnectionMultiplexer redis, GateHealth gate) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(cancellationToken);
            if (gate.Since is { } since)
            {
                return HealthCheckResult.Degraded($"Redis answers, but this process's executors have found the resource gate unreachable since {since:O}");
            }
            return HealthCheckResult.Healthy($"Redis (queue and resource gate) answers in {latency.TotalMilliseconds:0.#} ms");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Degraded($"Redis (queue and resource gate) cannot be reached ({ex.GetType().Name}): new requests are stored and wait for it");
        }
    }
}
