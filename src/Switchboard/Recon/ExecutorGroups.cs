using System.Text.Json.Nodes;
using Switchboard.Observability;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Recon;

/// <summary>
/// An executor group: the live executors started with the same <c>--handlers</c> patterns
/// (<c>*</c>: without the option), the handlers they serve, and their backlog (queued requests of
/// those handlers, from the store; a handler two groups serve counts in both).
/// </summary>
public sealed record ExecutorGroup(string Name, IReadOnlyList<ExecutorInfo> Executors, IReadOnlyList<string> Handlers, long Backlog, double OldestAgeSeconds);

/// <summary>The groups of a health snapshot, for <c>GET /admin/api/executors</c> and the group metrics.</summary>
public static class ExecutorGroups
{
    public static List<ExecutorGroup> Of(HealthSnapshot snapshot)
    {
        var queues = snapshot.QueuesByHandler.ToDictionary(q => q.Name, StringComparer.Ordinal);
        return [.. (snapshot.Executors ?? [])
            .GroupBy(e => e.Group, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var handlers = g.SelectMany(e => e.Handlers).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
                var mine = handlers.Select(h => queues.GetValueOrDefault(h)).OfType<QueueInfo>().ToList();
                return new ExecutorGroup(g.Key, [.. g.OrderBy(e => e.Owner, StringComparer.Ordinal)], handlers,
                    mine.Sum(q => q.Depth), mine.Count == 0 ? 0 : mine.Max(q => q.OldestAgeSeconds));
            })];
    }

    /// <summary>Handlers with queued requests that no live executor serves (null: the registry could not be read).</summary>
    public static List<QueueInfo>? Unserved(HealthSnapshot snapshot) =>
        snapshot.CoveredHandlers is { } covered ? [.. snapshot.QueuesByHandler.Where(q => q.Depth > 0 && !covered.Contains(q.Name))] : null;

    private static HashSet<string> _published = new(StringComparer.Ordinal);
    private static readonly Lock PublishLock = new();

    /// <summary>Sets <c>switchboard_executor_group_executors</c> and <c>switchboard_executor_group_backlog</c> (the leading recon, every pass).</summary>
    public static void Publish(HealthSnapshot snapshot)
    {
        if (snapshot.Executors is null)
        {
            return;
        }
        lock (PublishLock)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var group in Of(snapshot))
            {
                SwitchboardMetrics.GroupExecutors.WithLabels(group.Name).Set(group.Executors.Count);
                SwitchboardMetrics.GroupBacklog.WithLabels(group.Name).Set(group.Backlog);
                seen.Add(group.Name);
            }
            // A group whose executors are all gone reads 0, not its last count.
            foreach (var gone in _published.Except(seen))
            {
                SwitchboardMetrics.GroupExecutors.WithLabels(gone).Set(0);
                SwitchboardMetrics.GroupBacklog.WithLabels(gone).Set(0);
            }
            _published = seen;
        }
    }

    public static JsonObject ToJson(HealthSnapshot snapshot, IReadOnlyDictionary<string, long>? streamDepths) => new()
    {
        ["at"] = Clock.Iso(snapshot.AtMs),
        ["groups"] = snapshot.Executors is null ? null : new JsonArray([.. Of(snapshot).Select(g => (JsonNode)new JsonObject
        {
            ["group"] = g.Name,
            ["patterns"] = new JsonArray([.. (g.Name == "*" ? [] : g.Name.Split(',')).Select(p => (JsonNode?)p)]),
            ["handlers"] = new JsonArray([.. g.Handlers.Select(h => (JsonNode?)h)]),
            ["executors"] = new JsonArray([.. g.Executors.Select(e => (JsonNode)new JsonObject
            {
                ["owner"] = e.Owner,
                ["workers"] = e.Workers,
                ["in_flight"] = e.InFlight,
                ["last_beat_at"] = Clock.Iso(e.LastBeatMs),
                ["in_process"] = e.InProcess,
            })]),
            ["backlog"] = g.Backlog,
            ["oldest_age_s"] = Math.Round(g.OldestAgeSeconds, 3),
            ["queued_messages"] = streamDepths is null ? null : g.Handlers.Sum(h => streamDepths.GetValueOrDefault(h)),
        })]),
        ["unserved"] = Unserved(snapshot) is { } unserved
            ? new JsonArray([.. unserved.Select(q => (JsonNode)new JsonObject { ["handler"] = q.Name, ["queued"] = q.Depth, ["oldest_age_s"] = Math.Round(q.OldestAgeSeconds, 3) })])
            : null,
    };
}
