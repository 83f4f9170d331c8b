using System.Text.Json.Nodes;
using Switchboard.Config;
using Switchboard.Errors;
using Switchboard.Storage;

namespace Switchboard.Resources;

/// <summary>
/// <c>GET /admin/api/resources</c>: every resource of the live map with its limits and its state
/// now (slots in use, jobs waiting, credits spent this period, calls in the last minute;
/// <see cref="ResourceOverview"/>). 503 <c>resource_gate_unavailable</c> when the gate cannot be reached.
/// </summary>
public static class ResourcesAdminEndpoint
{
    public static RouteGroupBuilder MapResourcesAdmin(this RouteGroupBuilder admin)
    {
        admin.MapGet("/resources", async (AppConfigs configs, IResourceGate gate, GateHealth health, Store store) =>
        {
            List<ResourceView> views;
            try
            {
                views = await ResourceOverview.TakeAsync(configs, gate, store);
            }
            catch (Exception ex) when (GateHealth.IsUnreachableError(ex))
            {
                return Problems.Of(503, "resource_gate_unavailable", "The resource gate cannot be reached", "Jobs that need a resource wait until it can.");
            }
            return Results.Ok(new JsonObject
            {
                ["resources"] = new JsonArray([.. views.Select(v => (JsonNode)v.ToJson())]),
                ["gate_unreachable_since"] = health.Since is { } since ? Clock.Iso(since.ToUnixTimeMilliseconds()) : null,
            });
        })
            .WithName("list_resources").WithTags("resources").WithSummary("Each resource's limits, use and queue")
            .Produces<JsonObject>(200);
        return admin;
    }
}
