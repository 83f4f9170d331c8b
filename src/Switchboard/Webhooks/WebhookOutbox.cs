using Switchboard.Lifecycle;
using Switchboard.Live;

namespace Switchboard.Webhooks;

/// <summary>
/// The outbox: inside the unit of a request's or a deal's final transition (succeeded, failed,
/// cancelled, expired; never a deal's step), one <c>INSERT … SELECT</c> writes an event per
/// endpoint of the payer's that is enabled and subscribed to it, plus one for the run's one-off
/// <c>Switchboard-Webhook</c> URL. The events commit with the status or not at all: none is lost
/// to a kill -9 after the commit, none exists for a rolled-back transition (a PostgreSQL group
/// rolled back runs its items again one by one, and so this insert). An event's id is made of
/// the request, run, status and endpoint: the stable <c>webhook-id</c>, and a second write of
/// the same event (a transition run again) inserts nothing. After the commit the delivery workers
/// are woken: this process's at once, the others' through the change feed.
/// </summary>
public sealed class WebhookOutbox(string kind, string state, WebhookSignal signal, IChangePublisher feed) : IStateHandler
{
    public string? Kind => kind;

    public string? State => state;

    private readonly string _type = WebhookEvents.Of(kind, state);
    private readonly long _bit = WebhookEvents.Bit(WebhookEvents.Of(kind, state));

    public void Apply(LifecycleUnit unit, in Transition transition)
    {
        // The transition's statement saw neither a one-off URL nor an enabled endpoint (in the
        // same transaction): the insert would write nothing.
        if (transition.Webhooks == false)
        {
            return;
        }
        var written = unit.Connection.Execute(
            """
            INSERT INTO webhook_events (id, user_id, endpoint_id, url, type, request_id, run, status, attempts, next_at, window_from, created_at)
            SELECT @prefix || e.id, r.user_id, e.id, NULL, @type, r.id, @run, 'pending', 0, @now, @now, @now
            FROM requests r JOIN webhook_endpoints e ON e.user_id = r.user_id AND e.enabled = 1 AND (e.event_mask & @bit) <> 0
            WHERE r.id = @id
            UNION ALL
            SELECT @prefix || 'once', r.user_id, NULL, r.webhook_url, @type, r.id, @run, 'pending', 0, @now, @now, @now
            FROM requests r WHERE r.id = @id AND r.webhook_url IS NOT NULL
            ON CONFLICT (id) DO NOTHING
            """,
            ("@prefix", $"msg_{transition.RequestId}_{transition.Run}_{state}_"), ("@type", _type), ("@run", transition.Run),
            ("@now", transition.At), ("@bit", _bit), ("@id", transition.RequestId));
        if (written > 0)
        {
            var requestId = transition.RequestId;
            unit.AfterCommit(() =>
            {
                signal.Wake();
                // Other processes' delivery workers (an executor's success is delivered by the api).
                feed.Publish(new RequestChange(requestId, ChangeKind.Outbox));
                return Task.CompletedTask;
            });
        }
    }
}

/// <summary>Wakes this process's delivery worker when an event was committed here (others find theirs by polling).</summary>
public sealed class WebhookSignal
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken: the worker reads every due event when it runs.
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _wake.WaitAsync(timeout, cancellationToken);
}
