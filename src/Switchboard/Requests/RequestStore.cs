using System.Data.Common;
using Switchboard.Credits;
using Switchboard.Storage;

namespace Switchboard.Requests;

/// <summary>A validated, priced request about to be stored.</summary>
public sealed record NewRequest(
    string Id, string UserId, string Service, string Action, string Handler, string InputsJson, string Prompt,
    string ParamsJson, int CreateQty, int? Expiration, long Price, int MaxAttempts);

public enum SubmitOutcome
{
    Created,
    Rerun,
    Existing,
}

public sealed record SubmitResult(SubmitOutcome Outcome, int Run, RequestRecord? Existing);

/// <summary>Client-side writes of requests: submit and cancel. Both run as one writer unit each.</summary>
public static class RequestStore
{
    /// <summary>
    /// Stores and charges a request (see <see cref="Submit"/>). On PostgreSQL the common case, a
    /// new id with enough credits, is one statement without a savepoint (<see cref="TryCreate"/>);
    /// anything else (an existing id, not enough credits) takes the general unit.
    /// </summary>
    public static async Task<SubmitResult> SubmitAsync(Store store, NewRequest r, long now)
    {
        if (store.Kind == StoreKind.Postgres && await store.WriteStatementAsync(c => TryCreate(c, r, now)))
        {
            return new SubmitResult(SubmitOutcome.Created, 1, null);
        }
        return await store.WriteAsync(c => Submit(c, r, now));
    }

    /// <summary>
    /// PostgreSQL: insert a new request, debit its price and write the charge's ledger row in one
    /// statement. The user's row is locked first (FOR UPDATE re-checks the balance on its latest
    /// version), so the debit cannot miss; false when the id exists or the balance is short.
    /// </summary>
    public static bool TryCreate(DbConnection connection, NewRequest r, long now)
    {
        using var reader = connection.Cached(
            """
            WITH payer AS MATERIALIZED (
                SELECT id FROM users WHERE id = @user AND credits >= @price FOR UPDATE),
            created AS (
                INSERT INTO requests (id, user_id, kind, service, action, handler, status, inputs, prompt, params, create_qty,
                    expiration, price, run, attempts, max_attempts, created_at, updated_at)
                SELECT @id, payer.id, 'offer', @service, @action, @handler, 'queued', @inputs::jsonb, @prompt, @params::jsonb,
                    @qty::integer, @expiration::integer, @price::bigint, 1, 0, @max::integer, @now::bigint, @now::bigint
                FROM payer
                ON CONFLICT (id) DO NOTHING
                RETURNING seq),
            debit AS (
                UPDATE users SET credits = credits - @price::bigint FROM created WHERE users.id = @user AND @price::bigint > 0),
            charge AS (
                INSERT INTO ledger (user_id, kind, amount, request_id, request_seq, run, created_at)
                SELECT @user, 'charge', -@price::bigint, @id, created.seq, 1, @now::bigint FROM created WHERE @price::bigint > 0)
            SELECT seq FROM created
            """,
            ("@id", r.Id), ("@user", r.UserId), ("@service", r.Service), ("@action", r.Action), ("@handler", r.Handler),
            ("@inputs", r.InputsJson), ("@prompt", r.Prompt), ("@params", r.ParamsJson), ("@qty", r.CreateQty),
            ("@expiration", r.Expiration), ("@price", r.Price), ("@max", r.MaxAttempts), ("@now", now)).ExecuteReader();
        return reader.Read();
    }

    /// <summary>
    /// Stores the request and charges for it in the same transaction (the writer unit), or
    /// returns the live request of the same id untouched. A failed, cancelled or expired request
    /// is run again under its id: a new run, charged again (the ledger key includes the run).
    /// Throws <see cref="InsufficientCreditsException"/> with nothing written.
    /// </summary>
    public static SubmitResult Submit(DbConnection connection, NewRequest r, long now)
    {
        // The common case, a new id, costs one statement: the insert tells whether the id exists.
        var inserted = connection.Execute(
            """
            INSERT INTO requests (id, user_id, kind, service, action, handler, status, inputs, prompt, params, create_qty,
                expiration, price, run, attempts, max_attempts, created_at, updated_at)
            VALUES (@id, @user, 'offer', @service, @action, @handler, 'queued', @inputs, @prompt, @params, @qty,
                @expiration, @price, 1, 0, @max, @now, @now)
            ON CONFLICT (id) DO NOTHING
            """,
            ("@id", r.Id), ("@user", r.UserId), ("@service", r.Service), ("@action", r.Action), ("@handler", r.Handler),
            ("@inputs", new Json(r.InputsJson)), ("@prompt", r.Prompt), ("@params", new Json(r.ParamsJson)), ("@qty", r.CreateQty),
            ("@expiration", r.Expiration), ("@price", r.Price), ("@max", r.MaxAttempts), ("@now", now));
        if (inserted == 1)
        {
            Charges.Charge(connection, r.UserId, r.Id, 1, r.Price);
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
                updated_at = @now, started_at = NULL, finished_at = NULL, expires_at = NULL
            WHERE id = @id AND run = @previous
            """,
            ("@id", r.Id), ("@handler", r.Handler), ("@prompt", r.Prompt), ("@params", new Json(r.ParamsJson)), ("@qty", r.CreateQty),
            ("@expiration", r.Expiration), ("@price", r.Price), ("@run", run), ("@max", r.MaxAttempts), ("@now", now),
            ("@previous", existing.Run));
        Charges.Charge(connection, r.UserId, r.Id, run, r.Price);
        return new SubmitResult(SubmitOutcome.Rerun, run, null);
    }

    public enum CancelOutcome
    {
        Cancelled,
        NotFound,
        AlreadyFinished,
    }

    /// <summary>Cancels a queued or running request of this user and refunds its run, once.</summary>
    public static (CancelOutcome Outcome, RequestRecord? Request) Cancel(DbConnection connection, string id, string userId, long now)
    {
        var current = RequestRecord.Load(connection, id);
        if (current is null || current.UserId != userId)
        {
            return (CancelOutcome.NotFound, null);
        }
        var changed = connection.Execute(
            """
            UPDATE requests SET status = 'cancelled', owner = NULL, lease_until = NULL, not_before = NULL,
                error_code = 'cancelled', error_message = 'cancelled by the client', finished_at = @now, updated_at = @now
            WHERE id = @id AND run = @run AND status IN ('queued', 'running')
            """,
            ("@id", id), ("@run", current.Run), ("@now", now));
        if (changed == 0)
        {
            return (CancelOutcome.AlreadyFinished, current);
        }
        Charges.Refund(connection, userId, id, current.Run, current.Price, "cancelled");
        return (CancelOutcome.Cancelled, RequestRecord.Load(connection, id));
    }
}
