using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Switchboard.Credits;
using Switchboard.Queue;
using Switchboard.Requests;
using Switchboard.Storage;

namespace Switchboard.Deals;

/// <summary>A validated, priced deal request about to be stored: the deal's row and one row per step.</summary>
public sealed record NewDeal(
    string Id, string UserId, string Name, string InputsJson, string ParamsJson, int? Expiration, long Price, int MaxAttempts,
    IReadOnlyList<NewStep> Steps);

/// <summary>
/// One step: an offer's snapshot like an offer request's (handler, params, quantity), its share
/// of the price, and its prompt: rendered when the step runs on the deal's inputs, the template
/// itself when it waits for data (rendered when it runs, see <see cref="StepInputs"/>).
/// </summary>
public sealed record NewStep(int Step, string Service, string Action, string Handler, string Pipeline, string Prompt, string ParamsJson, int CreateQty, long Share);

/// <summary>Client-side writes of deals: submit and cancel, each one writer unit.</summary>
public static class DealStore
{
    /// <summary>A step's id: derived from its deal's, so a re-run's steps keep their ids.</summary>
    public static string StepId(string dealId, int step)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"step\n{dealId}\n{step}"), digest);
        return Convert.ToHexStringLower(digest[..16]);
    }

    /// <summary>
    /// Stores the deal and its steps and charges the whole price once, in one transaction; or
    /// returns the live deal of the same id untouched. A finished deal that did not succeed (or
    /// whose results expired) runs again under its id: a new run, its steps afresh, charged again.
    /// Returns the messages of the steps that can start now (sent after the commit).
    /// Throws <see cref="InsufficientCreditsException"/> with nothing written.
    /// </summary>
    public static (SubmitResult Result, List<JobMessage> Start) Submit(DbConnection connection, NewDeal d, long now)
    {
        var inserted = connection.Execute(
            """
            INSERT INTO requests (id, user_id, kind, service, action, handler, status, inputs, prompt, params, create_qty,
                expiration, price, run, attempts, max_attempts, created_at, updated_at)
            VALUES (@id, @user, 'deal', 'deal', @name, 'deal', @running, @inputs, '', @params, @steps,
                @expiration, @price, 1, 0, @max, @now, @now)
            ON CONFLICT (id) DO NOTHING
            """,
            ("@id", d.Id), ("@user", d.UserId), ("@name", d.Name), ("@running", RequestStatus.Running), ("@inputs", new Json(d.InputsJson)),
            ("@params", new Json(d.ParamsJson)), ("@steps", d.Steps.Count), ("@expiration", d.Expiration), ("@price", d.Price),
            ("@max", d.MaxAttempts), ("@now", now));
        var run = 1;
        var outcome = SubmitOutcome.Created;
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
            connection.Execute(
                """
                UPDATE requests SET status = @running, params = @params, create_qty = @steps, expiration = @expiration, price = @price,
                    run = @run, max_attempts = @max, results = NULL, error_code = NULL, error_message = NULL, updated_at = @now,
                    started_at = NULL, finished_at = NULL, expires_at = NULL
                WHERE id = @id AND run = @previous
                """,
                ("@running", RequestStatus.Running), ("@params", new Json(d.ParamsJson)), ("@steps", d.Steps.Count),
                ("@expiration", d.Expiration), ("@price", d.Price), ("@run", run), ("@max", d.MaxAttempts), ("@now", now),
                ("@id", d.Id), ("@previous", existing.Run));
            // The previous run's steps are all finished (a deal ends only when they are): they
            // make way for this run's. Their refunds stay in the ledger under the deal's run.
            connection.Execute("DELETE FROM requests WHERE parent = @id", ("@id", d.Id));
        }
        var start = new List<JobMessage>();
        foreach (var s in d.Steps)
        {
            var id = StepId(d.Id, s.Step);
            var waits = s.Pipeline != Catalog.Pipeline.None;
            connection.Execute(
                """
                INSERT INTO requests (id, user_id, kind, service, action, handler, status, inputs, prompt, params, create_qty,
                    expiration, price, run, attempts, max_attempts, created_at, updated_at, parent, step, pipeline)
                VALUES (@id, @user, 'step', @service, @action, @handler, @status, @inputs, @prompt, @params, @qty,
                    NULL, @share, @run, 0, @max, @now, @now, @deal, @step, @pipeline)
                """,
                ("@id", id), ("@user", d.UserId), ("@service", s.Service), ("@action", s.Action), ("@handler", s.Handler),
                ("@status", waits ? RequestStatus.Waiting : RequestStatus.Queued), ("@inputs", new Json(d.InputsJson)), ("@prompt", s.Prompt),
                ("@params", new Json(s.ParamsJson)), ("@qty", s.CreateQty), ("@share", s.Share), ("@run", run), ("@max", d.MaxAttempts),
                ("@now", now), ("@deal", d.Id), ("@step", s.Step), ("@pipeline", s.Pipeline));
            if (!waits)
            {
                start.Add(new JobMessage(id, run));
            }
        }
        Charges.Charge(connection, d.UserId, d.Id, run, d.Price);
        return (new SubmitResult(outcome, run, null), start);
    }

    /// <summary>
    /// Cancels a running deal of this user: every step not finished is cancelled and refunded
    /// its share, once; finished steps keep their results. Returns the steps that may be running
    /// somewhere, for the caller to stop. Steps first, then the deal (the lock order of <see cref="DealSteps"/>).
    /// </summary>
    public static (RequestStore.CancelOutcome Outcome, List<string> Stopped) Cancel(DbConnection connection, RequestRecord deal, long now, string by)
    {
        var cancelled = new List<(string Id, int Step, long Share)>();
        using (var command = connection.Sql(
            """
            UPDATE requests SET status = 'cancelled', owner = NULL, lease_until = NULL, not_before = NULL, error_code = 'cancelled',
                error_message = @stepMessage, finished_at = @now, updated_at = @now
            WHERE parent = @deal AND run = @run AND status IN (@queued, @running, @waiting)
            RETURNING id, step, price
            """,
            ("@now", now), ("@deal", deal.Id), ("@run", deal.Run), ("@stepMessage", $"the deal was cancelled by {by}"),
            ("@queued", RequestStatus.Queued), ("@running", RequestStatus.Running), ("@waiting", RequestStatus.Waiting)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                cancelled.Add((reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2)));
            }
        }
        var changed = connection.Execute(
            """
            UPDATE requests SET status = 'cancelled', error_code = 'cancelled', error_message = @message,
                finished_at = @now, updated_at = @now
            WHERE id = @id AND run = @run AND status = @running
            """,
            ("@now", now), ("@message", $"cancelled by {by}"), ("@id", deal.Id), ("@run", deal.Run), ("@running", RequestStatus.Running));
        if (changed == 0)
        {
            // Ended meanwhile; then none of its steps was left to cancel either (a deal ends
            // only when its steps have). Should that ever not hold, nothing is written.
            return cancelled.Count == 0
                ? (RequestStore.CancelOutcome.AlreadyFinished, [])
                : throw new InvalidOperationException($"deal {deal.Id} has ended but had unfinished steps");
        }
        foreach (var (_, step, share) in cancelled)
        {
            Charges.Refund(connection, deal.UserId, deal.Id, deal.Run, share, "cancelled", step);
        }
        return (RequestStore.CancelOutcome.Cancelled, [.. cancelled.Select(c => c.Id)]);
    }
}
