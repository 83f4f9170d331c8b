using System.Data.Common;
using Switchboard.Deals;
using Switchboard.Lifecycle;
using Switchboard.Live;
using Switchboard.Observability;

namespace Switchboard.Webhooks;

/// <summary>
/// Delivers the outbox's events, in any process that runs it (serve, api, recon): claims due
/// events with a lease (one conditional <c>UPDATE … RETURNING</c> that also takes the next
/// attempt number; <c>FOR UPDATE SKIP LOCKED</c> on PostgreSQL, so two processes claim
/// different events), inserts each attempt's row of the delivery log, unique per (event,
/// attempt), before sending it (a conflict means another process owns that attempt: it is not
/// sent), then sends, at most <see cref="WebhookOptions.MaxConcurrency"/> at a time. A process
/// killed mid-send leaves the attempt without an outcome; when its lease ends the event is
/// claimed again under the next attempt number, with the same <c>webhook-id</c>. Woken at once
/// by this process's outbox (<see cref="WebhookSignal"/>) and by other processes' through the
/// change feed (<see cref="ChangeKind.Outbox"/>), and polls every
/// <see cref="WebhookOptions.PollInterval"/> for the rest (retries coming due, a change the feed lost).
/// </summary>
public sealed class WebhookDelivery(
    Store store, WebhookSender sender, WebhookSecrets secrets, WebhookSignal signal, WebhookOptions options, ChangeHub hub, ILogger<WebhookDelivery> logger)
    : BackgroundService
{
    private readonly string _owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";
    private int _inFlight;

    private sealed record Claimed(string Id, string UserId, string? EndpointId, string? Url, string Type, string RequestId, int Attempt, string? Payload, long WindowFrom, long CreatedAt);

    private void OnArrived(RequestChange change)
    {
        if (change.Kind == ChangeKind.Outbox)
        {
            signal.Wake();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        hub.Arrived += OnArrived;
        try
        {
            await DeliverAsync(stoppingToken);
        }
        finally
        {
            hub.Arrived -= OnArrived;
        }
    }

    private async Task DeliverAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(options.MaxConcurrency, options.MaxConcurrency);
        var lastGauge = 0L;
        while (!stoppingToken.IsCancellationRequested)
        {
            var full = false;
            try
            {
                var free = options.MaxConcurrency - Volatile.Read(ref _inFlight);
                if (free > 0)
                {
                    var claimed = await ClaimAsync(Math.Min(free, 64));
                    full = claimed.Count == Math.Min(free, 64);
                    foreach (var item in claimed)
                    {
                        await slots.WaitAsync(stoppingToken);
                        Interlocked.Increment(ref _inFlight);
                        _ = Task.Run(async () =>
                        {
                            try
                            {
                                await AttemptAsync(item, stoppingToken);
                            }
                            finally
                            {
                                Interlocked.Decrement(ref _inFlight);
                                slots.Release();
                                signal.Wake();
                            }
                        }, CancellationToken.None);
                    }
                }
                if (Clock.NowMs() - lastGauge >= 5_000)
                {
                    lastGauge = Clock.NowMs();
                    SwitchboardMetrics.WebhookOldestPending.Set(WebhookBacklog.OldestPendingSeconds(store, lastGauge) ?? 0);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Webhooks: claiming due events failed; trying again at the next round");
            }
            if (!full)
            {
                try
                {
                    await signal.WaitAsync(options.PollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private Task<List<Claimed>> ClaimAsync(int count) => store.WriteAsync(c =>
    {
        var now = Clock.NowMs();
        var due = "SELECT seq FROM webhook_events WHERE status = 'pending' AND next_at <= @now AND (lease_until IS NULL OR lease_until <= @now) ORDER BY next_at LIMIT @n"
            + (store.Kind == StoreKind.Postgres ? " FOR UPDATE SKIP LOCKED" : "");
        var claimed = new List<Claimed>();
        using (var command = c.Sql(
            $"""
            UPDATE webhook_events SET attempts = attempts + 1, lease_until = @lease
            WHERE seq IN ({due}) AND status = 'pending'
            RETURNING id, user_id, endpoint_id, url, type, request_id, attempts, payload, window_from, created_at
            """,
            ("@now", now), ("@n", count), ("@lease", now + (long)options.Lease.TotalMilliseconds)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                claimed.Add(new(reader.GetString(0), reader.GetString(1), reader.StringOrNull(2), reader.StringOrNull(3), reader.GetString(4),
                    reader.GetString(5), reader.GetInt32(6), reader.StringOrNull(7), reader.GetInt64(8), reader.GetInt64(9)));
            }
        }
        // The log's row first: (event, attempt) is unique, so an attempt whose row another
        // process holds is not sent by this one.
        return claimed.Where(e => c.Execute(
            "INSERT INTO webhook_attempts (event_id, attempt, owner, started_at) VALUES (@event, @attempt, @owner, @now) ON CONFLICT (event_id, attempt) DO NOTHING",
            ("@event", e.Id), ("@attempt", e.Attempt), ("@owner", _owner), ("@now", now)) == 1).ToList();
    });

    private async Task AttemptAsync(Claimed e, CancellationToken stoppingToken)
    {
        AttemptOutcome outcome;
        string? body = null;
        try
        {
            (var url, var sealedSecrets, body) = Prepare(e);
            if (url is null)
            {
                SwitchboardMetrics.WebhookDeliveries.WithLabels("skipped").Inc();
                await FinishAsync(e, new AttemptOutcome("skipped", null, "the endpoint was deleted or disabled"), body, final: "skipped");
                return;
            }
            if (sealedSecrets.Count == 0)
            {
                // A one-off URL whose user never asked for a secret: made now (the user sees it by rotating it).
                await store.WriteAsync(c => c.Execute(
                    "INSERT INTO webhook_user_secrets (user_id, secret, created_at) VALUES (@user, @secret, @now) ON CONFLICT (user_id) DO NOTHING",
                    ("@user", e.UserId), ("@secret", secrets.Seal(WebhookSecrets.Generate())), ("@now", Clock.NowMs())));
                (url, sealedSecrets, body) = Prepare(e);
            }
            outcome = await sender.SendAsync(url!, e.Id, e.Attempt, body, [.. sealedSecrets.Select(secrets.Open)], stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the attempt stays without an outcome and the event is attempted again after its lease.
            return;
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Webhooks: event {EventId} attempt {Attempt} could not be prepared or sent", e.Id, e.Attempt);
            outcome = new AttemptOutcome(AttemptOutcome.Failed, null, "internal error before sending");
        }
        SwitchboardMetrics.WebhookDeliveries.WithLabels(outcome.Outcome).Inc();
        try
        {
            await FinishAsync(e, outcome, body, final: null);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Webhooks: the outcome of event {EventId} attempt {Attempt} could not be stored; it is attempted again after its lease", e.Id, e.Attempt);
        }
    }

    /// <summary>
    /// One read of the store: the URL to call (null: the endpoint is gone or disabled), the
    /// sealed secrets that sign, and the body (the one kept on the event, else made now).
    /// </summary>
    private (string? Url, List<string> Secrets, string Body) Prepare(Claimed e)
    {
        using var c = store.Open();
        var now = Clock.NowMs();
        var url = e.Url;
        if (e.EndpointId is not null)
        {
            url = c.Scalar<string>("SELECT url FROM webhook_endpoints WHERE id = @id AND enabled = 1", ("@id", e.EndpointId));
        }
        var (current, previous) = WebhookStore.Secrets(c, e.EndpointId, e.UserId, now);
        var sealedSecrets = new List<string>();
        if (current is not null)
        {
            sealedSecrets.Add(current);
        }
        if (previous is not null)
        {
            sealedSecrets.Add(previous);
        }
        return (url, sealedSecrets, e.Payload ?? Payload(c, e));
    }

    /// <summary>
    /// The body, <c>{type, timestamp, data}</c>, data being the request (or deal) object as
    /// <c>GET /svc/request/{id}/</c> shows it when the event is first attempted. Kept on the
    /// event with the first attempt's outcome (no write of its own), so every later attempt (and
    /// a resend) sends the same bytes.
    /// </summary>
    private static string Payload(DbConnection c, Claimed e)
    {
        var request = RequestRecord.Load(c, e.RequestId);
        var data = request is null ? null : request.Kind == RequestKind.Deal ? DealView.ToJson(c, request) : request.ToJson();
        return new JsonObject { ["type"] = e.Type, ["timestamp"] = Clock.Iso(e.CreatedAt), ["data"] = data }.ToJsonString();
    }

    private Task FinishAsync(Claimed e, AttemptOutcome outcome, string? body, string? final) => store.WriteAsync(c =>
    {
        var now = Clock.NowMs();
        if (e.Payload is null && body is not null)
        {
            c.Execute("UPDATE webhook_events SET payload = @payload WHERE id = @id AND payload IS NULL", ("@payload", body), ("@id", e.Id));
        }
        c.Execute(
            "UPDATE webhook_attempts SET finished_at = @now, outcome = @outcome, status_code = @code, error = @error WHERE event_id = @event AND attempt = @attempt",
            ("@now", now), ("@outcome", outcome.Outcome), ("@code", outcome.StatusCode), ("@error", outcome.Error), ("@event", e.Id), ("@attempt", e.Attempt));
        if (final is not null || outcome.Outcome == AttemptOutcome.Delivered)
        {
            End(c, e.Id, final ?? "delivered", now);
            return;
        }
        if (outcome.Outcome == AttemptOutcome.Gone)
        {
            End(c, e.Id, "failed", now);
            if (e.EndpointId is not null)
            {
                c.Execute("UPDATE webhook_endpoints SET enabled = 0, disabled_reason = @reason, updated_at = @now WHERE id = @id",
                    ("@reason", "the receiver answered 410 Gone"), ("@now", now), ("@id", e.EndpointId));
                WebhookStore.SkipPending(c, e.EndpointId, now);
                logger.LogWarning("Webhooks: endpoint {EndpointId} answered 410 Gone and was disabled", e.EndpointId);
            }
            return;
        }
        var delay = Backoff(e.Attempt);
        if (now + delay > e.WindowFrom + (long)options.RetryWindow.TotalMilliseconds)
        {
            // Only the owner of the latest attempt decides: a stale process does not end an event another has claimed since.
            c.Execute("UPDATE webhook_events SET status = 'failed', lease_until = NULL, finished_at = @now WHERE id = @id AND status = 'pending' AND attempts = @attempt",
                ("@now", now), ("@id", e.Id), ("@attempt", e.Attempt));
            return;
        }
        c.Execute("UPDATE webhook_events SET next_at = @next, lease_until = NULL WHERE id = @id AND status = 'pending' AND attempts = @attempt",
            ("@next", now + delay), ("@id", e.Id), ("@attempt", e.Attempt));
    });

    private static void End(DbConnection c, string id, string status, long now) => c.Execute(
        "UPDATE webhook_events SET status = @status, lease_until = NULL, finished_at = @now WHERE id = @id AND status = 'pending'",
        ("@status", status), ("@now", now), ("@id", id));

    /// <summary>The wait after failed attempt <paramref name="attempt"/>: doubling from the first delay, capped, ±20 % jitter (receivers coming back are not hit by every sender at once).</summary>
    private long Backoff(int attempt)
    {
        var ms = Math.Min(options.FirstRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30)), options.MaxRetryDelay.TotalMilliseconds);
        return (long)(ms * (0.8 + 0.4 * Random.Shared.NextDouble()));
    }
}
