using System.Data.Common;
using Microsoft.Extensions.Options;
using Switchboard.Config;

namespace Switchboard.Usage;

/// <summary>
/// Writes what <see cref="UsageRecorder"/> counted to <c>usage_minutes</c> every
/// <c>UsageFlushInterval</c>, and what is left when the host stops: one upsert per key (adding to
/// the counts already stored for that minute, so flushes from several executors and several
/// flushes into one minute add up), all in one writer unit. A flush that fails (store down)
/// keeps its counts and merges them into the next one.
/// </summary>
public sealed class UsageFlusher(UsageRecorder recorder, Store store, IOptions<SwitchboardOptions> options, ILogger<UsageFlusher> logger)
    : BackgroundService
{
    /// <summary>
    /// The most keys kept across failed flushes. Memory is bounded: a key is one minute of one
    /// (resource, handler, user), so an outage grows the pending counts by the number of those
    /// in use per minute (about 200 bytes each); past this many, the oldest minutes are dropped
    /// (and logged with their calls) so a store that stays down cannot exhaust the executor.
    /// </summary>
    internal int MaxPendingKeys { get; init; } = 200_000;

    // Never disposed: a host may call StopAsync (which flushes) after disposing its services, and
    // a SemaphoreSlim whose wait handle is never used holds nothing that needs freeing.
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private Dictionary<UsageKey, UsageTotals> _pending = [];

    /// <summary>Keys held after failed flushes, waiting for the next one.</summary>
    public int PendingKeys => Volatile.Read(ref _pending).Count;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.UsageFlushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // Not cancelled by the stop: a write given up while it may still commit would
                // be written again by the last flush.
                await FlushAsync(CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync writes the rest.
        }
    }

    /// <summary>Stops the timer, then writes what is left (executors stopping before this one have recorded their last attempts).</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (!await FlushAsync(cancellationToken))
        {
            logger.LogError("Usage of {Calls} handler call(s) could not be written before stopping and is lost", _pending.Values.Sum(t => t.Calls));
        }
    }

    /// <summary>
    /// Writes everything recorded so far (and anything kept from failed flushes). True when it is
    /// in the store (or there was nothing to write); false when the write failed and the counts
    /// are kept for the next flush.
    /// </summary>
    public async Task<bool> FlushAsync(CancellationToken cancellationToken = default)
    {
        await _flushing.WaitAsync(cancellationToken);
        try
        {
            var batch = _pending;
            foreach (var (key, totals) in recorder.Drain())
            {
                batch[key] = batch.TryGetValue(key, out var kept) ? kept.Add(totals) : totals;
            }
            if (batch.Count == 0)
            {
                return true;
            }
            var rows = batch.ToList();
            var sql = UpsertSql(store.Kind);
            try
            {
                await store.WriteAsync(c =>
                {
                    foreach (var (key, t) in rows)
                    {
                        Upsert(c, sql, key, t);
                    }
                }).WaitAsync(cancellationToken);
                _pending = [];
                return true;
            }
            catch (Exception ex)
            {
                // Cancelled (only the last flush, when the host's stop timeout ends): the unit
                // may still commit, but nothing flushes after it.
                _pending = Bound(batch);
                logger.LogWarning(ex, "Usage flush failed; {Keys} key(s) kept for the next flush", _pending.Count);
                return false;
            }
        }
        finally
        {
            _flushing.Release();
        }
    }

    private Dictionary<UsageKey, UsageTotals> Bound(Dictionary<UsageKey, UsageTotals> batch)
    {
        if (batch.Count <= MaxPendingKeys)
        {
            return batch;
        }
        var dropped = batch.OrderBy(e => e.Key.Minute).Take(batch.Count - MaxPendingKeys).ToList();
        foreach (var (key, _) in dropped)
        {
            batch.Remove(key);
        }
        logger.LogError("Usage kept through failed flushes passed {Max} keys; dropped the oldest ({Calls} call(s) up to {Minute})",
            MaxPendingKeys, dropped.Sum(e => e.Value.Calls), Clock.Iso(dropped[^1].Key.Minute));
        return batch;
    }

    internal static string UpsertSql(StoreKind kind) => $"""
        INSERT INTO usage_minutes (minute, resource, handler, user_id, calls, integration_credits, user_credits, errors, latency_sum_ms, latency_max_ms)
        VALUES (@minute, @resource, @handler, @user, @calls, @icredits, @ucredits, @errors, @lsum, @lmax)
        ON CONFLICT (minute, resource, handler, user_id) DO UPDATE SET
            calls = usage_minutes.calls + excluded.calls,
            integration_credits = usage_minutes.integration_credits + excluded.integration_credits,
            user_credits = usage_minutes.user_credits + excluded.user_credits,
            errors = usage_minutes.errors + excluded.errors,
            latency_sum_ms = usage_minutes.latency_sum_ms + excluded.latency_sum_ms,
            latency_max_ms = {(kind == StoreKind.Postgres ? "GREATEST" : "max")}(usage_minutes.latency_max_ms, excluded.latency_max_ms)
        """;

    private static void Upsert(DbConnection connection, string sql, UsageKey key, UsageTotals t) =>
        connection.Execute(sql,
            ("@minute", key.Minute), ("@resource", key.Resource), ("@handler", key.Handler), ("@user", key.UserId),
            ("@calls", t.Calls), ("@icredits", t.IntegrationCredits), ("@ucredits", t.UserCredits), ("@errors", t.Errors),
            ("@lsum", t.LatencySumMs), ("@lmax", t.LatencyMaxMs));
}
