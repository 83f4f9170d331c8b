using Switchboard.Resources;

namespace Switchboard.Recon;

/// <summary>
/// <c>GET /admin/api/health</c>: the whole picture, taken now by <see cref="HealthProbe"/> (the
/// same code the recon runs): live executors, queues, dependencies, resource budgets, error
/// rates. <c>alerts</c> is what fires (<see cref="AlertBoard.Current"/>): the leading recon's own
/// list in its process, the store's last report elsewhere (with when, and whether it is stale);
/// <c>firing</c> is null until a recon has reported.
/// Always 200 while the process answers: what is down is in the body.
/// </summary>
public static class HealthEndpoint
{
    public static RouteGroupBuilder MapHealthAdmin(this RouteGroupBuilder admin)
    {
        admin.MapGet("/health", async (HealthProbe probe, GateHealth gate, IServiceProvider services) =>
        {
            var snapshot = await probe.TakeAsync();
            var json = snapshot.ToJson();
            // This process's executors' view of the resource gate (Redis), when they found it down.
            json["gate_unreachable_since"] = gate.Since is { } since ? Clock.Iso(since.ToUnixTimeMilliseconds()) : null;
            var engine = services.GetService<AlertEngine>();
            var leading = services.GetService<IReconLeadership>()?.IsLeader;
            json["recon"] = new JsonObject
            {
                ["in_process"] = engine is not null,
                ["leading"] = leading,
                ["repairs_last_minute"] = services.GetService<ReconRepairs>()?.LastMinute(),
            };
            var report = AlertBoard.Current(services);
            json["alerts"] = new JsonObject
            {
                ["firing"] = report is null ? null : new JsonArray([.. report.Firing.Select(f => (JsonNode)new JsonObject
                {
                    ["alert"] = f.Alert,
                    ["subject"] = f.Subject,
                    ["summary"] = f.Summary,
                    ["since"] = Clock.Iso(f.SinceMs),
                })]),
                ["reported_at"] = Clock.Iso(report?.ReportedAtMs),
                ["stale"] = report?.Stale,
            };
            return TypedResults.Ok(json);
        })
            .WithName("get_health").WithTags("health").WithSummary("The deployment's health: executors, queue, gate, upstreams and alerts")
            .Produces<JsonObject>(200);
        return admin;
    }
}
