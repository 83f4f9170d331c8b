using System.Data.Common;
using Switchboard.Credits;
using Switchboard.Blobs;
using Switchboard.Storage;

namespace Switchboard.Lifecycle;

/// <summary>
/// Recon's transitions: recover a request whose lease expired, expire results. Each is conditional on the state it read.
/// <para>
/// A row of a format newer than this build reads (<see cref="Formats.Request"/>; an older recon
/// after a rollback) is only ever put back in the queue: its lease expiring requeues it (status,
/// owner and lease mean the same in every format), but nothing here writes its outcome, refunds
/// it or expires its results: what those are for a newer row is its own build's to say.
/// </para>
/// </summary>
public sealed partial class RequestLifecycle
{
    /// <summary>
    /// Running requests whose lease ends before <paramref name="leaseBefore"/> (their worker died
    /// or hung; recon passes now): back to queued, or failed with a refund (a deal's step: its
    /// deal's handler refunds and settles) once their attempts are used up. Returns the ones to
    /// dispatch and the ids of the failed ones.
    /// </summary>
    public Task<(List<Queue.JobMessage> Requeued, List<string> Failed)> RecoverExpiredLeasesAsync(long now, long leaseBefore) =>
        WriteAsync(attached: true, (c, unit) => RecoverExpiredLeases(c, unit, now, leaseBefore));

    private (List<Queue.JobMessage> Requeued, List<string> Failed) RecoverExpiredLeases(DbConnection connection, LifecycleUnit? unit, long now, long leaseBefore)
    {
        var expired = new List<(string Id, int Run, int Attempts, int Max, string Owner, string User, long Price, string? Parent, int? Step, string Handler, int Priority)>();
        using (var command = connection.Sql(
            """
            SELECT id, run, attempts, max_attempts, owner, user_id, price, parent, step, handler, priority FROM requests
            WHERE status = 'running' AND lease_until < @before AND (attempts < max_attempts OR format <= @format)
            """,
            ("@before", leaseBefore), ("@format", Formats.Request)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                expired.Add((reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3), reader.StringOrNull(4) ?? "",
                    reader.GetString(5), reader.GetInt64(6), reader.StringOrNull(7), reader.IntOrNull(8), reader.GetString(9), reader.GetInt32(10)));
            }
        }
        var requeued = new List<Queue.JobMessage>();
        var failed = new List<string>();
        foreach (var r in expired)
        {
            const string Same = "id = @id AND run = @run AND attempts = @attempts AND owner = @owner AND status = @running AND lease_until < @before";
            (string, object?)[] args = [("@id", r.Id), ("@run", r.Run), ("@attempts", r.Attempts), ("@owner", r.Owner), ("@now", now), ("@before", leaseBefore), ("@running", "running"), ("@format", Formats.Request)];
            var kind = r.Parent is null ? RequestKind.Offer : RequestKind.Step;
            var lost = new Transition(r.Id, r.Run, RequestStatus.Running, RequestStatus.Queued, now) { UserId = r.User, Price = r.Price, Deal = r.Parent, Step = r.Step };
            if (r.Attempts >= r.Max)
            {
                if (connection.Execute(
                    $"""
                    UPDATE requests SET status = 'failed', error_code = 'worker_lost',
                        error_message = 'the worker running this request stopped responding, and its attempts are used up',
                        owner = NULL, lease_until = NULL, finished_at = @now, updated_at = @now
                    WHERE {Same} AND format <= @format
                    """, args) == 1)
                {
                    if (r.Parent is null)
                    {
                        Charges.Refund(connection, r.User, r.Id, r.Run, r.Price, "worker_lost");
                    }
                    // A step's message is its deal's view of why: the step's own row says the worker's.
                    Changed(unit, kind, lost with
                    {
                        To = RequestStatus.Failed, Code = "worker_lost",
                        Message = r.Parent is null ? "the worker running this request stopped responding, and its attempts are used up" : "the worker running this step stopped responding",
                    });
                    failed.Add(r.Id);
                }
            }
            else if (connection.Execute(
                $"UPDATE requests SET status = 'queued', owner = NULL, lease_until = NULL, updated_at = @now WHERE {Same}", args) == 1)
            {
                Changed(unit, kind, lost);
                // Back in its user's flow at its level (the weight is the user's now: it is not stored).
                requeued.Add(new Queue.JobMessage(r.Id, r.Run, r.Handler, r.User, r.Priority, UserWeight(connection, r.User)));
            }
        }
        return (requeued, failed);
    }

    /// <summary>The message a request failed with <c>no_executor</c> carries (its step's deal says why in its own words).</summary>
    public const string NoExecutorMessage = "no live executor serves this request's handler, and it waited the longest it may (recon.no_executor_fail_s)";

    /// <summary>
    /// queued → failed (<c>no_executor</c>) with a refund, for the requests of
    /// <paramref name="handler"/> queued since <paramref name="queuedBefore"/> or earlier: recon
    /// calls it once no live executor has served the handler for the maximum wait, so every
    /// request finishes even when its executors never come back. A deal's step goes through its
    /// deal's handler (its share refunded, the deal settled), as a lost worker's does. Returns
    /// the ids failed.
    /// </summary>
    public Task<List<string>> FailUnservedAsync(string handler, long queuedBefore, long now) =>
        WriteAsync(attached: true, (c, unit) => FailUnserved(c, unit, handler, queuedBefore, now));

    private List<string> FailUnserved(DbConnection connection, LifecycleUnit? unit, string handler, long queuedBefore, long now)
    {
        var failed = new List<(string Id, int Run, string User, long Price, string? Parent, int? Step)>();
        // One statement: a request claimed, cancelled or re-queued since recon looked is not matched.
        using (var command = connection.Sql(
            """
            UPDATE requests SET status = 'failed', error_code = 'no_executor', error_message = @message,
                finished_at = @now, updated_at = @now
            WHERE status = 'queued' AND handler = @handler AND kind <> 'deal' AND updated_at <= @before AND format <= @format
            RETURNING id, run, user_id, price, parent, step
            """,
            ("@message", NoExecutorMessage), ("@now", now), ("@handler", handler), ("@before", queuedBefore), ("@format", Formats.Request)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                failed.Add((reader.GetString(0), reader.GetInt32(1), reader.GetString(2), reader.GetInt64(3), reader.StringOrNull(4), reader.IntOrNull(5)));
            }
        }
        foreach (var r in failed)
        {
            if (r.Parent is null)
            {
                Charges.Refund(connection, r.User, r.Id, r.Run, r.Price, "no_executor");
            }
            Changed(unit, r.Parent is null ? RequestKind.Offer : RequestKind.Step, new Transition(r.Id, r.Run, RequestStatus.Queued, RequestStatus.Failed, now)
            {
                UserId = r.User, Price = r.Price, Deal = r.Parent, Step = r.Step, Code = "no_executor",
                Message = r.Parent is null ? NoExecutorMessage : "no live executor serves this step's handler",
            });
        }
        return [.. failed.Select(f => f.Id)];
    }

    /// <summary>
    /// succeeded → expired past their expiration, losing their results and the binary results
    /// they list (the blobs no other request lists are deleted); a deal's steps with it
    /// (steps have no expiration of their own: their deal's is the earliest of its offers').
    /// </summary>
    public Task<List<string>> ExpireResultsAsync(long now) => WriteAsync(attached: true, (c, unit) => ExpireResults(c, unit, now));

    private List<string> ExpireResults(DbConnection connection, LifecycleUnit? unit, long now)
    {
        var expired = new List<(string Id, int Run, string Kind)>();
        using (var command = connection.Sql(
            "UPDATE requests SET status = 'expired', results = NULL, updated_at = @now WHERE status = 'succeeded' AND expires_at IS NOT NULL AND expires_at <= @now AND format <= @format RETURNING id, run, kind",
            ("@now", now), ("@format", Formats.Request)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                expired.Add((reader.GetString(0), reader.GetInt32(1), reader.GetString(2)));
            }
        }
        foreach (var (id, run, kind) in expired)
        {
            // Its binary results (and its steps') go with the results that list them.
            ResultBlobs.Forget(connection, id);
            Changed(unit, kind, new Transition(id, run, RequestStatus.Succeeded, RequestStatus.Expired, now));
        }
        foreach (var (deal, _, _) in expired.Where(e => e.Kind == RequestKind.Deal))
        {
            var steps = new List<(string Id, int Run, int Step)>();
            using (var command = connection.Sql(
                "UPDATE requests SET status = 'expired', results = NULL, updated_at = @now WHERE parent = @deal AND status = 'succeeded' AND format <= @format RETURNING id, run, step",
                ("@now", now), ("@deal", deal), ("@format", Formats.Request)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    steps.Add((reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2)));
                }
            }
            foreach (var (id, run, step) in steps)
            {
                Changed(unit, RequestKind.Step, new Transition(id, run, RequestStatus.Succeeded, RequestStatus.Expired, now) { Deal = deal, Step = step });
            }
        }
        return [.. expired.Select(e => e.Id)];
    }
}
