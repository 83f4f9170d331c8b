using System.Data.Common;
using Switchboard.Credits;
using Switchboard.Blobs;
using Switchboard.Storage;

namespace Switchboard.Lifecycle;

/// <summary>The client's transitions of an offer's request: submit (or run again), cancel with refund.</summary>
public sealed partial class RequestLifecycle
{
    /// <summary>
    /// Stores and charges a request (see <see cref="Submit"/>). On PostgreSQL the common case, a
    /// new id with enough credits, goes into <see cref="CreateMany"/> with the other submissions
    /// of the same group commit (one statement for all of them); anything else (an existing id,
    /// not enough credits) takes the general unit.
    /// </summary>
    public async Task<SubmitResult> SubmitAsync(NewRequest r, long now)
    {
        // Read here, in the caller's context: the writer that runs the insert has another.
        if (Observability.Tracing.SubmitParent(r.Id, r.Service, r.Action) is { } traceParent)
        {
            r = r with { TraceParent = traceParent };
        }
        var attached = Attached(RequestKind.Offer, RequestStatus.Queued);
        // A key with a concurrency or budget limit takes the general unit, which checks them.
        if (_store.Kind == StoreKind.Postgres && !Users.KeyCharges.Counts(r.Limits))
        {
            var created = UnitIf(attached);
            if (await _store.WriteBatchedAsync(_createMany, (r, now, created)))
            {
                if (created is not null)
                {
                    await created.PublishAsync();
                }
                return new SubmitResult(SubmitOutcome.Created, 1, null);
            }
        }
        else if (_store.Kind == StoreKind.Sqlite && !Users.KeyCharges.Counts(r.Limits)
            && await WriteCheckedAsync(attached, (c, unit) => SubmitNew(c, unit, r, now)) is { } created)
        {
            return created;
        }
        return await WriteAsync(attached, (c, unit) => Submit(c, unit, r, now));
    }

    /// <summary>
    /// SQLite's common case, a new id with enough credits, without a savepoint (which costs a copy
    /// of every page the unit touches): the insert happens only when the id is new and the payer
    /// holds the price, so the charge after it cannot be refused. Null when it was not inserted
    /// (the id exists, the balance is short, the user is unknown): the general unit then decides.
    /// </summary>
    private SubmitResult? SubmitNew(DbConnection connection, LifecycleUnit? unit, NewRequest r, long now)
    {
        var inserted = connection.Execute(
            $"""
            {InsertNewRow}
            SELECT @id, @user, 'offer', @service, @action, @handler, 'queued', @inputs, @prompt, @params, @qty,
                @expiration, @price, 1, 0, @max, @now, @now, @webhook, @trace, @priority, @key
            WHERE EXISTS (SELECT 1 FROM users WHERE id = @user AND (@price <= 0 OR credits >= @price))
            ON CONFLICT (id) DO NOTHING
            """,
            NewRowArgs(r, now));
        if (inserted == 0)
        {
            return null;
        }
        Charges.Charge(connection, r.UserId, r.Id, 1, r.Price);
        Changed(unit, RequestKind.Offer, Submitted(r, null, 1, now));
        return new SubmitResult(SubmitOutcome.Created, 1, null);
    }

    // The row of a new request (run 1, queued), shared by SubmitNew and Submit; only where its values come from differs.
    private const string InsertNewRow = """
        INSERT INTO requests (id, user_id, kind, service, action, handler, status, inputs, prompt, params, create_qty,
            expiration, price, run, attempts, max_attempts, created_at, updated_at, webhook_url, trace_parent, priority, api_key)
        """;

    private static (string Name, object? Value)[] NewRowArgs(NewRequest r, long now) =>
    [
        ("@priority", r.Priority), ("@key", r.ApiKey), ("@webhook", r.Webhook), ("@trace", r.TraceParent), ("@id", r.Id), ("@user", r.UserId), ("@service", r.Service), ("@action", r.Action), ("@handler", r.Handler),
        ("@inputs", new Json(r.InputsJson)), ("@prompt", r.Prompt), ("@params", new Json(r.ParamsJson)), ("@qty", r.CreateQty),
        ("@expiration", r.Expiration), ("@price", r.Price), ("@max", r.MaxAttempts), ("@now", now),
    ];

    /// <summary>
    /// An admin's retry of a failed request: inside the unit it is still failed (so this retry is
    /// the one that runs it again), then it is submitted again; null when it no longer is failed.
    /// </summary>
    public Task<SubmitResult?> ResubmitFailedAsync(NewRequest r, long now)
    {
        if (Observability.Tracing.SubmitParent(r.Id, r.Service, r.Action) is { } traceParent)
        {
            r = r with { TraceParent = traceParent };
        }
        return WriteAsync(Attached(RequestKind.Offer, RequestStatus.Queued), (c, unit) => StillFailed(c, r.Id) ? Submit(c, unit, r, now) : null);
    }

    private static bool StillFailed(DbConnection connection, string id) =>
        RequestRecord.Load(connection, id) is { Status: RequestStatus.Failed };

    private static Transition Submitted(NewRequest r, string? from, int run, long now) =>
        new(r.Id, run, from, RequestStatus.Queued, now) { UserId = r.UserId, Price = r.Price };

    /// <summary>
    /// PostgreSQL: new requests, their debits and their charges' ledger rows in one statement.
    /// Each payer's row is locked first (FOR UPDATE re-checks the balance on its latest version,
    /// in id order so two api processes lock in the same order) and must hold the sum of all its
    /// requests in the group; a payer that does not gets none created here, and those requests
    /// take the general path, which charges them one by one. The result says, per submission,
    /// whether it was created here (false: the id exists, the balance is short, or the same id
    /// came twice in the group, where only the first counts).
    /// </summary>
    private readonly BatchedStatement<(NewRequest Request, long Now, LifecycleUnit? Unit), bool> _createMany;

    private IReadOnlyList<bool> CreateMany(DbConnection connection, IReadOnlyList<(NewRequest Request, long Now, LifecycleUnit? Unit)> items)
    {
        Begin(connection, items.Select(i => i.Unit));
        var rows = items.Select(i => i.Request).ToList();
        using var command = connection.Sql(
            """
            WITH input AS (
                SELECT * FROM unnest(@ids::text[], @users::text[], @services::text[], @actions::text[], @handlers::text[],
                    @inputs::text[], @prompts::text[], @params::text[], @qtys::integer[], @expirations::integer[],
                    @prices::bigint[], @maxes::integer[], @nows::bigint[], @webhooks::text[], @traces::text[],
                    @priorities::integer[], @keys::text[])
                    AS t(id, user_id, service, action, handler, inputs, prompt, params, qty, expiration, price, max_attempts, now, webhook_url,
                        trace_parent, priority, api_key)),
            totals AS (SELECT user_id, SUM(price) AS total FROM input GROUP BY user_id),
            payer AS MATERIALIZED (
                SELECT u.id FROM users u JOIN totals t ON t.user_id = u.id WHERE u.credits >= t.total ORDER BY u.id FOR UPDATE OF u),
            created AS (
                INSERT INTO requests (id, user_id, kind, service, action, handler, status, inputs, prompt, params, create_qty,
                    expiration, price, run, attempts, max_attempts, created_at, updated_at, webhook_url, trace_parent, priority, api_key)
                SELECT i.id, i.user_id, 'offer', i.service, i.action, i.handler, 'queued', i.inputs::jsonb, i.prompt, i.params::jsonb,
                    i.qty, i.expiration, i.price, 1, 0, i.max_attempts, i.now, i.now, i.webhook_url, i.trace_parent, i.priority, i.api_key
                FROM input i JOIN payer p ON p.id = i.user_id
                ON CONFLICT (id) DO NOTHING
                RETURNING seq, id, user_id, price, created_at),
            debit AS (
                UPDATE users SET credits = credits - c.total
                FROM (SELECT user_id, SUM(price) AS total FROM created GROUP BY user_id) c
                WHERE users.id = c.user_id AND c.total > 0),
            charge AS (
                INSERT INTO ledger (user_id, kind, amount, request_id, request_seq, run, created_at)
                SELECT user_id, 'charge', -price, id, seq, 1, created_at FROM created WHERE price > 0)
            SELECT id FROM created
            """,
            ("@ids", rows.Select(r => r.Id).ToArray()), ("@users", rows.Select(r => r.UserId).ToArray()),
            ("@services", rows.Select(r => r.Service).ToArray()), ("@actions", rows.Select(r => r.Action).ToArray()),
            ("@handlers", rows.Select(r => r.Handler).ToArray()), ("@inputs", rows.Select(r => r.InputsJson).ToArray()),
            ("@prompts", rows.Select(r => r.Prompt).ToArray()), ("@params", rows.Select(r => r.ParamsJson).ToArray()),
            ("@qtys", rows.Select(r => r.CreateQty).ToArray()), ("@expirations", rows.Select(r => r.Expiration).ToArray()),
            ("@prices", rows.Select(r => r.Price).ToArray()), ("@maxes", rows.Select(r => r.MaxAttempts).ToArray()),
            ("@nows", items.Select(i => i.Now).ToArray()), ("@webhooks", rows.Select(r => r.Webhook).ToArray()),
            ("@traces", rows.Select(r => r.TraceParent).ToArray()), ("@priorities", rows.Select(r => r.Priority).ToArray()),
            ("@keys", rows.Select(r => r.ApiKey).ToArray()));
        var created = new HashSet<string>(StringComparer.Ordinal);
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                created.Add(reader.GetString(0));
            }
        }
        // A set's Remove is true once per id: a second submission of the same id in this group
        // was not created by it.
        var results = rows.Select(r => created.Remove(r.Id)).ToArray();
        for (var i = 0; i < items.Count; i++)
        {
            if (results[i])
            {
                Changed(items[i].Unit, RequestKind.Offer, Submitted(items[i].Request, null, 1, items[i].Now));
            }
        }
        return results;
    }

    /// <summary>
    /// Stores the request and charges for it in the same transaction (the writer unit), or
    /// returns the live request of the same id untouched. A failed, cancelled or expired request
    /// is run again under its id: a new run, charged again (the ledger key includes the run),
    /// with the one-off webhook of the submit that starts it (or none); a live request's stays.
    /// Throws <see cref="InsufficientCreditsException"/> with nothing written.
    /// </summary>
    private SubmitResult Submit(DbConnection connection, LifecycleUnit? unit, NewRequest r, long now)
    {
        // The common case, a new id, costs one statement: the insert tells whether the id exists.
        var inserted = connection.Execute(
            $"""
            {InsertNewRow}
            VALUES (@id, @user, 'offer', @service, @action, @handler, 'queued', @inputs, @prompt, @params, @qty,
                @expiration, @price, 1, 0, @max, @now, @now, @webhook, @trace, @priority, @key)
            ON CONFLICT (id) DO NOTHING
            """,
            NewRowArgs(r, now));
        if (inserted == 1)
        {
            Users.KeyCharges.Enforce(connection, _store.Kind == StoreKind.Postgres, r.ApiKey, r.Limits, r.Price, now);
            Charges.Charge(connection, r.UserId, r.Id, 1, r.Price);
            Changed(unit, RequestKind.Offer, Submitted(r, null, 1, now));
            return new SubmitResult(SubmitOutcome.Created, 1, null);
        }
        var existing = RequestRecord.Load(connection, r.Id)!;
        if (existing.Status is RequestStatus.Queued or RequestStatus.Running
            || (existing.Status is RequestStatus.Succeeded && (existing.ExpiresAt is null || existing.ExpiresAt > now)))
        {
            return new SubmitResult(SubmitOutcome.Existing, existing.Run, existing);
        }
        var run = existing.Run + 1;
        connection.Execute(
            """
            UPDATE requests SET status = 'queued', handler = @handler, prompt = @prompt, params = @params, create_qty = @qty,
                expiration = @expiration, price = @price, run = @run, attempts = 0, max_attempts = @max, owner = NULL,
                lease_until = NULL, not_before = NULL, results = NULL, error_code = NULL, error_message = NULL, usage = NULL,
                updated_at = @now, started_at = NULL, finished_at = NULL, expires_at = NULL, webhook_url = @webhook,
                trace_parent = @trace, priority = @priority, api_key = @key, endpoint = NULL
            WHERE id = @id AND run = @previous
            """,
            ("@priority", r.Priority), ("@key", r.ApiKey), ("@webhook", r.Webhook), ("@trace", r.TraceParent), ("@id", r.Id), ("@handler", r.Handler), ("@prompt", r.Prompt), ("@params", new Json(r.ParamsJson)), ("@qty", r.CreateQty),
            ("@expiration", r.Expiration), ("@price", r.Price), ("@run", run), ("@max", r.MaxAttempts), ("@now", now),
            ("@previous", existing.Run));
        // The previous run's binary results go with its results.
        ResultBlobs.Forget(connection, r.Id);
        Users.KeyCharges.Enforce(connection, _store.Kind == StoreKind.Postgres, r.ApiKey, r.Limits, r.Price, now);
        Charges.Charge(connection, r.UserId, r.Id, run, r.Price);
        Changed(unit, RequestKind.Offer, Submitted(r, existing.Status, run, now));
        return new SubmitResult(SubmitOutcome.Rerun, run, null);
    }

    /// <summary>
    /// Cancels a queued or running request of this user and refunds its run, once; a deal, each
    /// of its unfinished steps (<see cref="CancelDeal"/>). <paramref name="by"/> says who ("the
    /// client", "the admin NAME") in the stored message. Returns the request as it is now. A job
    /// of it running in this process is stopped after the commit by the executor's observer of
    /// cancelled rows; elsewhere it stops at its next heartbeat.
    /// </summary>
    public Task<(CancelOutcome Outcome, RequestRecord? Request)> CancelAsync(string id, string userId, long now, string by) =>
        WriteAsync(attached: true, (c, unit) => Cancel(c, unit, id, userId, now, by));

    private (CancelOutcome Outcome, RequestRecord? Request) Cancel(DbConnection connection, LifecycleUnit? unit, string id, string userId, long now, string by)
    {
        var current = RequestRecord.Load(connection, id);
        if (current is null || current.UserId != userId || current.IsStep)
        {
            return (CancelOutcome.NotFound, null);
        }
        if (current.Kind == RequestKind.Deal)
        {
            var outcome = CancelDeal(connection, unit, current, now, by);
            return (outcome, RequestRecord.Load(connection, id));
        }
        var changed = connection.Execute(
            """
            UPDATE requests SET status = 'cancelled', owner = NULL, lease_until = NULL, not_before = NULL,
                error_code = 'cancelled', error_message = @message, finished_at = @now, updated_at = @now
            WHERE id = @id AND run = @run AND status IN ('queued', 'running')
            """,
            ("@id", id), ("@run", current.Run), ("@now", now), ("@message", $"cancelled by {by}"));
        if (changed == 0)
        {
            return (CancelOutcome.AlreadyFinished, current);
        }
        Charges.Refund(connection, userId, id, current.Run, current.Price, "cancelled");
        Changed(unit, RequestKind.Offer, new Transition(id, current.Run, current.Status, RequestStatus.Cancelled, now)
        {
            UserId = userId, Price = current.Price, Code = "cancelled", Message = $"cancelled by {by}",
        });
        return (CancelOutcome.Cancelled, RequestRecord.Load(connection, id));
    }
}
