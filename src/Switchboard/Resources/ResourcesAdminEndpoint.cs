using System.Text.Json.Nodes;
using Switchboard.Config;
using Switchboard.Errors;
using Switchboard.Storage;

namespace Switchboard.Resources;

/// <summary>
/// <c>GET /admin/api/resources</c>: every resource of the live map with its limits and its state
/// now (slots in use, jobs waiting, credits spent this period). 503 <c>resource_gate_unavailable</c>
/// when the gate cannot be reached.
/// </summary>
public static class ResourcesAdminEndpoint
{
    public static RouteGroupBuilder MapResourcesAdmin(this RouteGroupBuilder admin)
    {
        admin.MapGet("/resources", async (AppConfigs configs, IResourceGate gate, GateHealth health) =>
        {
            var resources = new JsonArray();
            try
            {
                foreach (var spec in configs.Resources.Resources.Values.OrderBy(r => r.Name, StringComparer.Ordinal))
                {
                    var state = await gate.StateAsync(spec);
                    resources.Add(new JsonObject
                    {
                        ["name"] = spec.Name,
                        ["max_concurrent"] = spec.MaxConcurrent,
                        ["rpm"] = spec.Rpm,
                        ["credits"] = spec.Credits,
                        ["period_s"] = (long)spec.Period.TotalSeconds,
                        ["on_exhausted"] = spec.OnExhausted.ToString().ToLowerInvariant(),
                        ["lease_s"] = spec.LeaseSeconds,
                        ["in_use"] = state.InUse,
                        ["waiting"] = state.Waiting,
                        ["spent"] = state.Spent,
                        ["period_ends_at"] = Clock.Iso(state.PeriodEnds.ToUnixTimeMilliseconds()),
                    });
                }
            }
            catch (Exception ex) when (GateHealth.IsUnreachableError(ex))
            {
                return Problems.Of(503, "resource_gate_unavailable", "The resource gate cannot be reached", "Jobs that need a resource wait until it can.");
            }
            return Results.Ok(new JsonObject
            {
                ["resources"] = resources,
                ["gate_unreachable_since"] = health.Since is { } since ? Clock.Iso(since.ToUnixTimeMilliseconds()) : null,
            });
        });
        return admin;
    }
}
