using System.Text.Json.Nodes;
using Switchboard.Storage;

namespace Switchboard.Recon;

/// <summary>
/// A live executor: from its Redis heartbeat, or this process's own in the embedded mode.
/// <see cref="MissingEnv"/>: the variables its handlers' profiles name that it does not have (names only).
/// <see cref="Patterns"/>: its <c>--handlers</c> (empty: all), which names its executor group.
/// </summary>
public sealed record ExecutorInfo(
    string Owner, IReadOnlyList<string> Handlers, string Version, int? Workers, int InFlight, string? StartedAt, long LastBeatMs, bool InProcess,
    IReadOnlyList<string>? MissingEnv = null, IReadOnlyList<string>? Patterns = null)
{
    /// <summary>The executor group: its patterns as given, or <c>*</c> for an executor of every handler.</summary>
    public string Group => Patterns is { Count: > 0 } p ? string.Join(',', p) : "*";
}

/// <summary>Queued requests of one handler (or resource): how many, and how long the oldest due one has waited.</summary>
public sealed record QueueInfo(string Name, long Depth, double OldestAgeSeconds);

/// <summary>The last check of a dependency (store, redis) and since when it has been failing.</summary>
public sealed record DependencyInfo(string Name, bool Up, double LatencySeconds, long? DownSinceMs, string? Error);

/// <summary>A resource of the live map: its slots and its period budget.</summary>
public sealed record ResourceHealth(string Name, long? Credits, long Spent, double? UsedRatio, long InUse, long Waiting, long PeriodEndsMs);

/// <summary>A handler's calls and errors over the alert window (from <c>usage_minutes</c>).</summary>
public sealed record HandlerErrors(string Handler, long Calls, long Errors)
{
    public double Ratio => Calls == 0 ? 0 : (double)Errors / Calls;
}

/// <summary>The whole picture at one moment, as <c>GET /admin/api/health</c> shows it and the alerts read it.</summary>
public sealed record HealthSnapshot(
    long AtMs,
    IReadOnlyList<ExecutorInfo>? Executors,
    IReadOnlyList<QueueInfo> QueuesByHandler,
    IReadOnlyList<QueueInfo> QueuesByResource,
    IReadOnlyList<DependencyInfo> Dependencies,
    IReadOnlyList<ResourceHealth>? Resources,
    IReadOnlyList<HandlerErrors> Errors,
    TimeSpan ErrorWindow)
{
    /// <summary>The age (s) of the oldest undelivered webhook event; null when there is none or the store could not be read.</summary>
    public double? OldestWebhookSeconds { get; init; }

    /// <summary>The handlers some live executor runs; null when the registry could not be read (Redis down).</summary>
    public IReadOnlySet<string>? CoveredHandlers =>
        Executors?.SelectMany(e => e.Handlers).ToHashSet(StringComparer.Ordinal);

    public JsonObject ToJson() => new()
    {
        ["at"] = Clock.Iso(AtMs),
        ["executors"] = Executors is null ? null : new JsonObject
        {
            ["live"] = Executors.Count,
            ["registry"] = new JsonArray([.. Executors.Select(e => (JsonNode)new JsonObject
            {
                ["owner"] = e.Owner,
                ["handlers"] = new JsonArray([.. e.Handlers.Select(h => (JsonNode?)h)]),
                ["version"] = e.Version,
                ["workers"] = e.Workers,
                ["in_flight"] = e.InFlight,
                ["started_at"] = e.StartedAt,
                ["last_beat_at"] = Clock.Iso(e.LastBeatMs),
                ["in_process"] = e.InProcess,
                ["missing_env"] = new JsonArray([.. (e.MissingEnv ?? []).Select(v => (JsonNode?)v)]),
                ["group"] = e.Group,
            })]),
        },
        ["webhooks"] = Webhooks(),
        ["queues"] = new JsonObject
        {
            ["depth"] = QueuesByHandler.Sum(q => q.Depth),
            ["by_handler"] = Queues(QueuesByHandler),
            ["by_resource"] = Queues(QueuesByResource),
        },
        ["dependencies"] = new JsonObject([.. Dependencies.Select(d => KeyValuePair.Create(d.Name, (JsonNode?)new JsonObject
        {
            ["up"] = d.Up,
            ["latency_ms"] = Math.Round(d.LatencySeconds * 1000, 3),
            ["down_since"] = d.DownSinceMs is { } since ? Clock.Iso(since) : null,
            ["error"] = d.Error,
        }))]),
        ["resources"] = Resources is null ? null : new JsonArray([.. Resources.Select(r => (JsonNode)new JsonObject
        {
            ["name"] = r.Name,
            ["credits"] = r.Credits,
            ["spent"] = r.Spent,
            ["used_percent"] = r.UsedRatio is { } ratio ? Math.Round(ratio * 100, 2) : null,
            ["in_use"] = r.InUse,
            ["waiting"] = r.Waiting,
            ["period_ends_at"] = Clock.Iso(r.PeriodEndsMs),
        })]),
        ["errors"] = new JsonObject
        {
            ["window_s"] = (long)ErrorWindow.TotalSeconds,
            ["by_handler"] = new JsonArray([.. Errors.Select(e => (JsonNode)new JsonObject
            {
                ["handler"] = e.Handler,
                ["calls"] = e.Calls,
                ["errors"] = e.Errors,
                ["error_percent"] = Math.Round(e.Ratio * 100, 2),
            })]),
        },
    };

    private JsonObject Webhooks() => new() { ["oldest_pending_s"] = OldestWebhookSeconds is { } s ? Math.Round(s, 3) : null };

    private static JsonArray Queues(IEnumerable<QueueInfo> queues) =>
        [.. queues.Select(q => (JsonNode)new JsonObject
        {
            ["name"] = q.Name,
            ["depth"] = q.Depth,
            ["oldest_age_s"] = Math.Round(q.OldestAgeSeconds, 3),
        })];
}
