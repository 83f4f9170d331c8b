using System.Data.Common;
using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Switchboard.Config;
using Switchboard.Execution;
using Switchboard.Handlers;
using Switchboard.Observability;
using Switchboard.Queue;
using Switchboard.Resources;
using Switchboard.Storage;

namespace Switchboard.Recon;

/// <summary>
/// Takes a <see cref="HealthSnapshot"/>: what recon's alerts and <c>GET /admin/api/health</c>
/// read. Every check is bounded (<see cref="CheckTimeout"/>) and one that fails is reported as
/// such, never thrown: a health check must answer most when something is down. Registered in
/// every role, so an <c>api</c> process answers from the same code as the recon.
/// </summary>
public sealed class HealthProbe(
    Store store, AppConfigs configs, ResourceNeeds needs, IResourceGate gate, InFlightJobs inFlight, HandlerRegistry handlers,
    ExecutorIdentity identity, IOptions<SwitchboardOptions> options, IServiceProvider services)
{
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    /// <summary>This build's version, as the executor heartbeat reports it.</summary>
    private static readonly string Version =
        typeof(HealthProbe).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(HealthProbe).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    private readonly IConnectionMultiplexer? _redis = services.GetService<IConnectionMultiplexer>();
    private readonly RedisSettings? _redisSettings = services.GetService<RedisSettings>();
    private readonly ExecutorCredentials? _credentials = services.GetService<ExecutorCredentials>();
    private readonly ServedHandlers? _served = services.GetService<ServedHandlers>();
    private readonly ExecutorCoverage? _coverage = services.GetService<ExecutorCoverage>();
    private readonly Dictionary<string, long> _downSince = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private HashSet<string> _published = new(StringComparer.Ordinal);

    // The last count of the queued requests per handler: when it was read and how long it took.
    private (List<QueueInfo> Queues, long AtMs, long TookMs)? _lastQueues;

    /// <summary>
    /// A count that found at least this many queued requests is used again (its ages moved on)
    /// for <see cref="QueueReadShare"/> times its duration: counting reads every queued row, so
    /// with a backlog of 100,000 a count every pass cost PostgreSQL 100 ms or more every 2 s. A
    /// smaller backlog is counted every time, as before: what decides is the backlog, not the
    /// count's time, which a busy machine stretches.
    /// </summary>
    private const long LargeBacklog = 5_000;

    /// <summary>At most 1/200 of the time goes to counting a large backlog (a 100 ms count: one every 20 s).</summary>
    private const int QueueReadShare = 200;

    /// <summary>Whether a count that found <paramref name="queued"/> requests in <paramref name="tookMs"/>, <paramref name="ageMs"/> ago, is used again.</summary>
    internal static bool ReuseQueueCount(long queued, long tookMs, long ageMs) => queued >= LargeBacklog && ageMs < tookMs * QueueReadShare;

    public async Task<HealthSnapshot> TakeAsync()
    {
        var now = Clock.NowMs();
        var window = configs.Recon.Alerts.ErrorRateWindow;
        var storeCheck = Check("store", () => Task.Run(() =>
        {
            using var connection = store.Open();
            connection.Scalar<long>("SELECT 1");
        }));
        var redisCheck = _redis is null ? null : Check("redis", () => _redis.GetDatabase().PingAsync());
        var dependencies = new List<DependencyInfo> { await storeCheck };
        if (redisCheck is not null)
        {
            dependencies.Add(await redisCheck);
        }
        var storeUp = dependencies[0].Up;
        var read = storeUp ? await Bounded(() => Task.Run(() => ReadStore(now, window))) : null;
        var byHandler = read?.ByHandler ?? [];
        var errors = read?.Errors;
        var byResource = ByResource(byHandler);
        // -1: no event waits (Bounded gives null for a read that failed or took too long).
        var webhooks = storeUp ? await Bounded(() => Task.Run(() => Webhooks.WebhookBacklog.OldestPendingSeconds(store, now) ?? -1)) : null;
        return new HealthSnapshot(now, await ExecutorsAsync(), byHandler, byResource, dependencies, await Resources(), errors ?? [], window)
        {
            OldestWebhookSeconds = webhooks is >= 0 ? webhooks : null,
        };
    }

    /// <summary>Sets recon's gauges from a snapshot (the leading recon, every pass).</summary>
    public void Publish(HealthSnapshot snapshot)
    {
        if (snapshot.Executors is { } executors)
        {
            SwitchboardMetrics.ExecutorsLive.Set(executors.Count);
        }
        ExecutorGroups.Publish(snapshot);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var queue in snapshot.QueuesByHandler)
        {
            SwitchboardMetrics.QueueDepth.WithLabels(queue.Name).Set(queue.Depth);
            SwitchboardMetrics.QueueOldestAge.WithLabels(queue.Name).Set(queue.OldestAgeSeconds);
            seen.Add(queue.Name);
        }
        // A handler whose queue emptied reads 0, not its last depth.
        foreach (var gone in _published.Except(seen))
        {
            SwitchboardMetrics.QueueDepth.WithLabels(gone).Set(0);
            SwitchboardMetrics.QueueOldestAge.WithLabels(gone).Set(0);
        }
        _published = seen;
        foreach (var dependency in snapshot.Dependencies)
        {
            SwitchboardMetrics.DependencyUp.WithLabels(dependency.Name).Set(dependency.Up ? 1 : 0);
            SwitchboardMetrics.DependencyLatency.WithLabels(dependency.Name).Set(dependency.LatencySeconds);
        }
        foreach (var resource in snapshot.Resources ?? [])
        {
            SwitchboardMetrics.ResourceCreditsUsed.WithLabels(resource.Name).Set(resource.Spent);
            SwitchboardMetrics.ResourceSlotsInUse.WithLabels(resource.Name).Set(resource.InUse);
            SwitchboardMetrics.ResourceJobsWaiting.WithLabels(resource.Name).Set(resource.Waiting);
            if (resource.UsedRatio is { } ratio)
            {
                SwitchboardMetrics.ResourceBudgetUsedRatio.WithLabels(resource.Name).Set(ratio);
            }
        }
        foreach (var handler in snapshot.Errors)
        {
            SwitchboardMetrics.HandlerErrorRatio.WithLabels(handler.Handler).Set(handler.Ratio);
        }
    }

    private async Task<DependencyInfo> Check(string name, Func<Task> probe)
    {
        var watch = Stopwatch.StartNew();
        string? error = null;
        try
        {
            await probe().WaitAsync(CheckTimeout);
        }
        catch (Exception ex)
        {
            error = ex is TimeoutException ? $"no answer within {CheckTimeout.TotalSeconds:0} s" : ex.GetType().Name + ": " + ex.Message;
        }
        var latency = watch.Elapsed.TotalSeconds;
        long? since;
        lock (_lock)
        {
            if (error is null)
            {
                _downSince.Remove(name);
                since = null;
            }
            else
            {
                _downSince.TryAdd(name, Clock.NowMs());
                since = _downSince[name];
            }
        }
        return new DependencyInfo(name, error is null, latency, since, error);
    }

    private static async Task<T?> Bounded<T>(Func<Task<T>> work) where T : struct
    {
        try
        {
            return await work().WaitAsync(CheckTimeout);
        }
        catch (Exception ex) when (ex is TimeoutException or System.Data.Common.DbException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Queued requests per handler, with the oldest one's wait counted from when it became due
    /// (queued, or its retry time); and each handler's calls and errors over the window.
    /// </summary>
    private (List<QueueInfo>? ByHandler, List<HandlerErrors>? Errors) ReadStore(long now, TimeSpan window)
    {
        using var connection = store.Open();
        var queues = RecentQueues(connection, now);
        var since = now - (long)window.TotalMilliseconds;
        var errors = new List<HandlerErrors>();
        using (var command = connection.Sql(
            """
            SELECT handler, CAST(SUM(calls) AS BIGINT), CAST(SUM(errors) AS BIGINT)
            FROM usage_minutes WHERE minute >= @since GROUP BY handler ORDER BY handler
            """, ("@since", since - (since % 60_000))))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                errors.Add(new HandlerErrors(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }
        }
        return (queues, errors);
    }

    /// <summary>The queues as last counted when that count found a large backlog and is recent enough (see <see cref="LargeBacklog"/>), else counted now.</summary>
    private List<QueueInfo> RecentQueues(DbConnection connection, long now)
    {
        lock (_lock)
        {
            if (_lastQueues is { } last && ReuseQueueCount(last.Queues.Sum(q => q.Depth), last.TookMs, now - last.AtMs))
            {
                var aged = (now - last.AtMs) / 1000.0;
                return [.. last.Queues.Select(q => q with { OldestAgeSeconds = q.OldestAgeSeconds + aged })];
            }
        }
        var watch = Stopwatch.StartNew();
        var queues = ReadQueues(connection, now);
        lock (_lock)
        {
            _lastQueues = (queues, now, watch.ElapsedMilliseconds);
        }
        return queues;
    }

    /// <summary>Queued requests per resource now: the snapshot's <see cref="HealthSnapshot.QueuesByResource"/> alone (the resources page).</summary>
    public List<QueueInfo> QueuesByResource()
    {
        using var connection = store.Open();
        return ByResource(ReadQueues(connection, Clock.NowMs()));
    }

    private List<QueueInfo> ByResource(List<QueueInfo> byHandler) => byHandler
        .Where(q => needs.ResourceOf(q.Name) is not null)
        .GroupBy(q => needs.ResourceOf(q.Name)!, StringComparer.Ordinal)
        .Select(g => new QueueInfo(g.Key, g.Sum(q => q.Depth), g.Max(q => q.OldestAgeSeconds)))
        .OrderBy(q => q.Name, StringComparer.Ordinal)
        .ToList();

    private static List<QueueInfo> ReadQueues(DbConnection connection, long now)
    {
        var queues = new List<QueueInfo>();
        using (var command = connection.Sql(
            """
            SELECT handler, COUNT(*),
                MIN(CASE WHEN not_before IS NOT NULL AND not_before > updated_at THEN not_before ELSE updated_at END)
            FROM requests WHERE status = 'queued' AND kind <> 'deal' GROUP BY handler ORDER BY handler
            """))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                queues.Add(new QueueInfo(reader.GetString(0), reader.GetInt64(1), Math.Max(0, now - reader.GetInt64(2)) / 1000.0));
            }
        }
        return queues;
    }

    /// <summary>Live executors: the Redis registry (a key per executor, gone three beats after its last), or this process in the embedded mode.</summary>
    public async Task<IReadOnlyList<ExecutorInfo>?> ExecutorsAsync()
    {
        var executors = await ReadExecutorsAsync();
        if (executors is not null)
        {
            _coverage?.Update(executors.Select(e => e.Handlers));
        }
        return executors;
    }

    private async Task<IReadOnlyList<ExecutorInfo>?> ReadExecutorsAsync()
    {
        if (_redis is null || _redisSettings is null)
        {
            return [new ExecutorInfo(identity.Owner, [.. (_served?.Ids ?? handlers.Ids).Order(StringComparer.Ordinal)], Version,
                options.Value.Workers, inFlight.Snapshot.Count, null, Clock.NowMs(), InProcess: true, [.. _credentials?.Missing ?? new HashSet<string>()],
                [.. _served?.Patterns.Patterns ?? []])];
        }
        try
        {
            var database = _redis.GetDatabase();
            var entries = await database.SortedSetRangeByRankWithScoresAsync(_redisSettings.Key("executors")).WaitAsync(CheckTimeout);
            if (entries.Length == 0)
            {
                return [];
            }
            var states = await database.StringGetAsync([.. entries.Select(e => _redisSettings.Key($"executor:{e.Element}"))]).WaitAsync(CheckTimeout);
            var live = new List<ExecutorInfo>();
            for (var i = 0; i < entries.Length; i++)
            {
                if (states[i].IsNullOrEmpty || JsonNode.Parse(states[i].ToString()) is not JsonObject state)
                {
                    continue; // Its key expired: the executor stopped beating.
                }
                live.Add(new ExecutorInfo(
                    entries[i].Element.ToString(),
                    [.. (state["handlers"] as JsonArray ?? []).Select(h => h?.GetValue<string>() ?? "")],
                    state["version"]?.GetValue<string>() ?? "unknown",
                    state["workers"]?.GetValue<int>(),
                    state["in_flight"]?.GetValue<int>() ?? 0,
                    state["started_at"]?.GetValue<string>(),
                    (long)entries[i].Score,
                    InProcess: false,
                    [.. (state["missing_env"] as JsonArray ?? []).Select(v => v?.GetValue<string>() ?? "")],
                    [.. (state["patterns"] as JsonArray ?? []).Select(v => v?.GetValue<string>() ?? "")]));
            }
            return live;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or System.Text.Json.JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    private async Task<IReadOnlyList<ResourceHealth>?> Resources()
    {
        var list = new List<ResourceHealth>();
        try
        {
            foreach (var spec in configs.Resources.Resources.Values.OrderBy(r => r.Name, StringComparer.Ordinal))
            {
                var state = await gate.StateAsync(spec).AsTask().WaitAsync(CheckTimeout);
                list.Add(new ResourceHealth(spec.Name, spec.Credits, state.Spent,
                    spec.Credits is > 0 and var credits ? (double)state.Spent / credits : null,
                    state.InUse, state.Waiting, state.PeriodEnds.ToUnixTimeMilliseconds()));
            }
        }
        catch (Exception ex) when (GateHealth.IsUnreachableError(ex))
        {
            return null;
        }
        return list;
    }
}
