using System.Data.Common;
using Switchboard.Queue;
using Switchboard.Blobs;
using Switchboard.Storage;
using Switchboard.Fairness;

namespace Switchboard.Lifecycle;

/// <summary>
/// A deal's rows: its submit (the deal's row and one per step, charged once) and cancel, and
/// the transitions its progression makes when a step ends, which the Deals feature's handlers
/// call inside that step's unit (<see cref="QueueNextStep"/>, <see cref="CancelDependent"/>,
/// <see cref="SettleDeal"/>). Locks are taken in one order everywhere: step rows, then the
/// payer's row (refunds), then the deal's row (<see cref="SettleDeal"/>); so two executors
/// ending steps of one deal, or an executor and a client's cancel, never deadlock.
/// </summary>
public sealed partial class RequestLifecycle
{
    /// <summary>A step still to finish.</summary>
    public static readonly IReadOnlySet<string> LiveSteps = new HashSet<string> { RequestStatus.Queued, RequestStatus.Running, RequestStatus.Waiting };

    /// <summary>
    /// Stores the deal and its steps and charges the whole price once, in one transaction; or
    /// returns the live deal of the same id untouched. A finished deal that did not succeed (or
    /// whose results expired) runs again under its id: a new run, its steps afresh, charged again.
    /// Returns the messages of the steps that can start now (to send after the commit).
    /// Throws <see cref="Credits.InsufficientCreditsException"/> with nothing written.
    /// </summary>
    public Task<(SubmitResult Result, List<JobMessage> Start)> SubmitDealAsync(NewDeal d, long now)
    {
        d = Traced(d);
        return WriteAsync(attached: true, (c, unit) => SubmitDeal(c, unit, d, now));
    }

    /// <summary>An admin's retry of a failed deal: submitted again only if it is still failed inside the unit.</summary>
    public Task<(SubmitResult? Result, List<JobMessage> Start)> ResubmitFailedDealAsync(NewDeal d, long now)
    {
        d = Traced(d);
        return WriteAsync<(SubmitResult?, List<JobMessage>)>(attached: true, (c, unit) => StillFailed(c, d.Id) ? SubmitDeal(c, unit, d, now) : (null, []));
    }

    // Read in the caller's context, before the writer runs the unit.
    private static NewDeal Traced(NewDeal d) =>
        Observability.Tracing.SubmitParent(d.Id, "deal", d.Name) is { } traceParent ? d with { TraceParent = traceParent } : d;

    private (SubmitResult Result, List<JobMessage> Start) SubmitDeal(DbConnection connection, LifecycleUnit? unit, NewDeal d, long now)
    {
        var inserted = connection.Execute(
            """
            INSERT INTO requests (id, user_id, kind, service, action, handler, status, inputs, prompt, params, create_qty,
                expiration, price, run, attempts, max_attempts, created_at, updated_at, webhook_url, trace_parent, priority, api_key)
            VALUES (@id, @user, 'deal', 'deal', @name, 'deal', @running, @inputs, '', @params, @steps,
                @expiration, @price, 1, 0, @max, @now, @now, @webhook, @trace, @priority, @key)
            ON CONFLICT (id) DO NOTHING
            """,
            ("@priority", d.Priority), ("@key", d.ApiKey), ("@webhook", d.Webhook), ("@trace", d.TraceParent), ("@id", d.Id), ("@user", d.UserId), ("@name", d.Name), ("@running", RequestStatus.Running), ("@inputs", new Json(d.InputsJson)),
            ("@params", new Json(d.ParamsJson)), ("@steps", d.Steps.Count), ("@expiration", d.Expiration), ("@price", d.Price),
            ("@max", d.MaxAttempts), ("@now", now));
        var run = 1;
        var outcome = SubmitOutcome.Created;
        string? from = null;
        if (inserted == 0)
        {
            var existing = RequestRecord.Load(connection, d.Id)!;
            if (existing.Status is RequestStatus.Running
                || (existing.Status is RequestStatus.Succeeded && (existing.ExpiresAt is null || existing.ExpiresAt > now)))
            {
                return (new SubmitResult(SubmitOutcome.Existing, existing.Run, existing), []);
            }
            run = existing.Run + 1;
            outcome = SubmitOutcome.Rerun;
            from = existing.Status;
            connection.Execute(
                """
                UPDATE requests SET status = @running, params = @params, create_qty = @steps, expiration = @expiration, price = @price,
                    run = @run, max_attempts = @max, results = NULL, error_code = NULL, error_message = NULL, updated_at = @now,
                    started_at = NULL, finished_at = NULL, expires_at = NULL, webhook_url = @webhook, trace_parent = @trace,
                    priority = @priority, api_key = @key
                WHERE id = @id AND run = @previous
                """,
                ("@priority", d.Priority), ("@key", d.ApiKey), ("@webhook", d.Webhook), ("@trace", d.TraceParent), ("@running", RequestStatus.Running), ("@params", new Json(d.ParamsJson)), ("@steps", d.Steps.Count),
                ("@expiration", d.Expiration), ("@price", d.Price), ("@run", run), ("@max", d.MaxAttempts), ("@now", now),
                ("@id", d.Id), ("@previous", existing.Run));
            // The previous run's steps are all finished (a deal ends only when they are): they
            // make way for this run's. Their refunds stay in the ledger under the deal's run.
            connection.Execute("DELETE FROM requests WHERE parent = @id", ("@id", d.Id));
            ResultBlobs.Forget(connection, d.Id);
        }
        var start = new List<JobMessage>();
        var steps = new List<Transition>();
        foreach (var s in d.Steps)
        {
            var id = NewDeal.StepId(d.Id, s.Step);
            var waits = s.Pipeline != Catalog.Pipeline.None;
            var status = waits ? RequestStatus.Waiting : RequestStatus.Queued;
            connection.Execute(
                """
                INSERT INTO requests (id, user_id, kind, service, action, handler, status, inputs, prompt, params, create_qty,
                    expiration, price, run, attempts, max_attempts, created_at, updated_at, parent, step, pipeline, trace_parent, priority)
                VALUES (@id, @user, 'step', @service, @action, @handler, @status, @inputs, @prompt, @params, @qty,
                    NULL, @share, @run, 0, @max, @now, @now, @deal, @step, @pipeline, @trace, @priority)
                """,
                ("@priority", d.Priority), ("@trace", d.TraceParent),
                ("@id", id), ("@user", d.UserId), ("@service", s.Service), ("@action", s.Action), ("@handler", s.Handler),
                ("@status", status), ("@inputs", new Json(d.InputsJson)), ("@prompt", s.Prompt),
                ("@params", new Json(s.ParamsJson)), ("@qty", s.CreateQty), ("@share", s.Share), ("@run", run), ("@max", d.MaxAttempts),
                ("@now", now), ("@deal", d.Id), ("@step", s.Step), ("@pipeline", s.Pipeline));
            if (!waits)
            {
                start.Add(new JobMessage(id, run, s.Handler, d.UserId, d.Priority, d.Weight));
            }
            steps.Add(new Transition(id, run, null, status, now) { UserId = d.UserId, Price = s.Share, Deal = d.Id, Step = s.Step });
        }
        Users.KeyCharges.Enforce(connection, _store.Kind == StoreKind.Postgres, d.ApiKey, d.Limits, d.Price, now);
        Credits.Charges.Charge(connection, d.UserId, d.Id, run, d.Price);
        Changed(unit, RequestKind.Deal, new Transition(d.Id, run, from, RequestStatus.Running, now) { UserId = d.UserId, Price = d.Price });
        foreach (var step in steps)
        {
            Changed(unit, RequestKind.Step, step);
        }
        return (new SubmitResult(outcome, run, null), start);
    }

    /// <summary>
    /// Cancels a running deal: every step not finished is cancelled and refunded its share, once;
    /// finished steps keep their results. Steps first, then the deal (the lock order above).
    /// </summary>
    private CancelOutcome CancelDeal(DbConnection connection, LifecycleUnit? unit, RequestRecord deal, long now, string by)
    {
        var cancelled = new List<(string Id, int Step, long Share)>();
        var stepMessage = $"the deal was cancelled by {by}";
        using (var command = connection.Sql(
            """
            UPDATE requests SET status = 'cancelled', owner = NULL, lease_until = NULL, not_before = NULL, error_code = 'cancelled',
                error_message = @stepMessage, finished_at = @now, updated_at = @now
            WHERE parent = @deal AND run = @run AND status IN (@queued, @running, @waiting)
            RETURNING id, step, price
            """,
            ("@now", now), ("@deal", deal.Id), ("@run", deal.Run), ("@stepMessage", stepMessage),
            ("@queued", RequestStatus.Queued), ("@running", RequestStatus.Running), ("@waiting", RequestStatus.Waiting)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                cancelled.Add((reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2)));
            }
        }
        var message = $"cancelled by {by}";
        var changed = connection.Execute(
            """
            UPDATE requests SET status = 'cancelled', error_code = 'cancelled', error_message = @message,
                finished_at = @now, updated_at = @now
            WHERE id = @id AND run = @run AND status = @running
            """,
            ("@now", now), ("@message", message), ("@id", deal.Id), ("@run", deal.Run), ("@running", RequestStatus.Running));
        if (changed == 0)
        {
            // Ended meanwhile; then none of its steps was left to cancel either (a deal ends
            // only when its steps have). Should that ever not hold, nothing is written.
            return cancelled.Count == 0
                ? CancelOutcome.AlreadyFinished
                : throw new InvalidOperationException($"deal {deal.Id} has ended but had unfinished steps");
        }
        foreach (var (_, step, share) in cancelled)
        {
            Credits.Charges.Refund(connection, deal.UserId, deal.Id, deal.Run, share, "cancelled", step);
        }
        foreach (var (id, step, share) in cancelled)
        {
            Changed(unit, RequestKind.Step, new Transition(id, deal.Run, null, RequestStatus.Cancelled, now)
            {
                UserId = deal.UserId, Price = share, Deal = deal.Id, Step = step, Code = "cancelled", Message = stepMessage,
            });
        }
        Changed(unit, RequestKind.Deal, new Transition(deal.Id, deal.Run, RequestStatus.Running, RequestStatus.Cancelled, now)
        {
            UserId = deal.UserId, Price = deal.Price, Code = "cancelled", Message = message,
        });
        return CancelOutcome.Cancelled;
    }

    /// <summary>
    /// waiting → queued: the pipeline item after a step that succeeded may start. Returns its
    /// message (for the caller to send after the commit), or null when there is none waiting.
    /// </summary>
    public JobMessage? QueueNextStep(LifecycleUnit unit, string deal, int run, int next, long now)
    {
        string? id = null, handler = null, user = null;
        var priority = Priorities.Default;
        using (var command = unit.Connection.Sql(
            "UPDATE requests SET status = 'queued', updated_at = @now WHERE parent = @deal AND run = @run AND step = @next AND status = @waiting RETURNING id, handler, user_id, priority",
            ("@now", now), ("@deal", deal), ("@run", run), ("@next", next), ("@waiting", RequestStatus.Waiting)))
        using (var reader = command.ExecuteReader())
        {
            if (reader.Read())
            {
                (id, handler, user, priority) = (reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3));
            }
        }
        if (id is null || handler is null)
        {
            return null;
        }
        Changed(unit, RequestKind.Step, new Transition(id, run, RequestStatus.Waiting, RequestStatus.Queued, now) { Deal = deal, Step = next });
        return new JobMessage(id, run, handler, user, priority, UserWeight(unit.Connection, user!));
    }

    /// <summary>
    /// waiting → cancelled: a pipeline item whose input can no longer come (a step before it
    /// failed). Returns its share, for the caller to refund; null when it was not waiting.
    /// </summary>
    public long? CancelDependent(LifecycleUnit unit, string deal, string id, int run, int step, string message, long now)
    {
        var share = unit.Connection.Scalar<long?>(
            """
            UPDATE requests SET status = 'cancelled', error_code = 'dependency_failed', error_message = @message,
                finished_at = @now, updated_at = @now
            WHERE id = @id AND run = @run AND status = @waiting
            RETURNING price
            """,
            ("@message", message), ("@now", now), ("@id", id), ("@run", run), ("@waiting", RequestStatus.Waiting));
        if (share is { } s)
        {
            Changed(unit, RequestKind.Step, new Transition(id, run, RequestStatus.Waiting, RequestStatus.Cancelled, now)
            {
                Price = s, Deal = deal, Step = step, Code = "dependency_failed", Message = message,
            });
        }
        return share;
    }

    /// <summary>
    /// When no step of the deal's run is left to finish, the deal ends (running → succeeded or
    /// failed): succeeded when every step did, failed otherwise (its error names the first failed
    /// step). Touching the deal's row first is the lock that orders concurrent step ends (on
    /// PostgreSQL two steps ending at once would otherwise each see the other still running, and
    /// the deal would never end); a deal that is no longer running (cancelled) is left alone.
    /// </summary>
    public void SettleDeal(LifecycleUnit unit, string deal, int run, long now)
    {
        var connection = unit.Connection;
        if (connection.Execute(
                "UPDATE requests SET updated_at = @now WHERE id = @deal AND run = @run AND status = @running",
                ("@now", now), ("@deal", deal), ("@run", run), ("@running", RequestStatus.Running)) == 0)
        {
            return;
        }
        var steps = new List<(int Step, string Offer, string Status, string? Code, string? Message)>();
        using (var command = connection.Sql(
            "SELECT step, service, action, status, error_code, error_message FROM requests WHERE parent = @deal AND run = @run ORDER BY step",
            ("@deal", deal), ("@run", run)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                steps.Add((reader.GetInt32(0), reader.GetString(1) + "/" + reader.GetString(2), reader.GetString(3), reader.StringOrNull(4), reader.StringOrNull(5)));
            }
        }
        if (steps.Any(s => LiveSteps.Contains(s.Status)))
        {
            return;
        }
        var failed = steps.FirstOrDefault(s => s.Status != RequestStatus.Succeeded);
        if (failed.Offer is null)
        {
            connection.Execute(
                """
                UPDATE requests SET status = 'succeeded', finished_at = @now, updated_at = @now,
                    expires_at = CASE WHEN expiration IS NULL THEN NULL ELSE @now + expiration * 1000 END
                WHERE id = @deal AND run = @run
                """,
                ("@now", now), ("@deal", deal), ("@run", run));
            Changed(unit, RequestKind.Deal, new Transition(deal, run, RequestStatus.Running, RequestStatus.Succeeded, now));
            return;
        }
        var message = $"step {failed.Step} ({failed.Offer}) failed: {failed.Code}: {failed.Message}";
        connection.Execute(
            """
            UPDATE requests SET status = 'failed', error_code = 'step_failed', error_message = @message, finished_at = @now, updated_at = @now
            WHERE id = @deal AND run = @run
            """,
            ("@message", message), ("@now", now), ("@deal", deal), ("@run", run));
        Changed(unit, RequestKind.Deal, new Transition(deal, run, RequestStatus.Running, RequestStatus.Failed, now) { Code = "step_failed", Message = message });
    }

    /// <summary>
    /// A user's scheduling weight as a message carries it: its own, else its plan's, else 1 (the
    /// weight is not stored on requests; a message sent again reads it here).
    /// </summary>
    public static int UserWeight(DbConnection connection, string userId) =>
        Math.Max(1, connection.Scalar<int?>(
            "SELECT COALESCE(u.weight, p.weight, 1) FROM users u LEFT JOIN plans p ON p.name = u.plan WHERE u.id = @user", ("@user", userId)) ?? 1);
}
