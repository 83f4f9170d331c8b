using System.Text.Json.Nodes;
using Switchboard.Config;
using Switchboard.Storage;
using Switchboard.Usage;

namespace Switchboard.Resources;

/// <summary>One resource now: its limits, the gate's state and the calls of the last minute (from usage).</summary>
public sealed record ResourceView(ResourceSpec Spec, ResourceState State, long CallsLastMinute)
{
    public JsonObject ToJson() => new()
    {
        ["name"] = Spec.Name,
        ["max_concurrent"] = Spec.MaxConcurrent,
        ["rpm"] = Spec.Rpm,
        ["credits"] = Spec.Credits,
        ["period_s"] = (long)Spec.Period.TotalSeconds,
        ["on_exhausted"] = Spec.OnExhausted.ToString().ToLowerInvariant(),
        ["lease_s"] = Spec.LeaseSeconds,
        ["in_use"] = State.InUse,
        ["waiting"] = State.Waiting,
        ["spent"] = State.Spent,
        ["period_ends_at"] = Clock.Iso(State.PeriodEnds.ToUnixTimeMilliseconds()),
        ["calls_last_minute"] = CallsLastMinute,
    };
}

/// <summary>
/// Every resource of the live map with its state, for <c>GET /admin/api/resources</c> and the
/// panel's Resources page. The calls of the last minute come from <c>usage_minutes</c> (the
/// minute now and the one before it that fall within 60 s), so they lag by the usage flush.
/// Throws what the gate throws when it cannot be reached (<see cref="GateHealth.IsUnreachableError"/>).
/// </summary>
public static class ResourceOverview
{
    public static async Task<List<ResourceView>> TakeAsync(AppConfigs configs, IResourceGate gate, Store store)
    {
        var now = Clock.NowMs();
        Dictionary<string, long> calls;
        using (var connection = store.Open())
        {
            calls = UsageQuery.Totals(connection, new UsageFilter((now - 60_000) / 60_000 * 60_000))
                .Where(r => r.Resource is not null)
                .GroupBy(r => r.Resource!)
                .ToDictionary(g => g.Key, g => g.Sum(r => r.Calls), StringComparer.Ordinal);
        }
        var views = new List<ResourceView>();
        foreach (var spec in configs.Resources.Resources.Values.OrderBy(r => r.Name, StringComparer.Ordinal))
        {
            views.Add(new ResourceView(spec, await gate.StateAsync(spec), calls.GetValueOrDefault(spec.Name)));
        }
        return views;
    }
}
