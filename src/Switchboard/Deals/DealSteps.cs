using System.Data.Common;
using Switchboard.Catalog;
using Switchboard.Credits;
using Switchboard.Execution;
using Switchboard.Queue;
using Switchboard.Requests;
using Switchboard.Storage;

namespace Switchboard.Deals;

/// <summary>A deal's step as its transitions need it: the deal, the step's place, the run, who pays and the step's share of the price.</summary>
public sealed record StepRef(string Deal, int Step, int Run, string UserId, long Share);

/// <summary>
/// What happens to a deal when one of its steps ends, in the same unit as the step's own
/// outcome write, so that a step's end, the next step's start, refunds and the deal's status
/// can never be seen apart. Locks are taken in one order everywhere: step rows, then the
/// payer's row (refunds), then the deal's row (<see cref="Settle"/>); so two executors ending
/// steps of one deal, or an executor and a client's cancel, never deadlock.
/// </summary>
public static class DealSteps
{
    /// <summary>A step still to finish.</summary>
    public static readonly IReadOnlySet<string> Live = new HashSet<string> { RequestStatus.Queued, RequestStatus.Running, RequestStatus.Waiting };

    /// <summary>
    /// The step succeeded: writes its results, lets the pipeline item after it start (waiting →
    /// queued; its message is returned, for the caller to send after the commit) and settles the
    /// deal. False when the step was no longer this worker's.
    /// </summary>
    public static (bool Done, JobMessage? Next) Succeed(DbConnection connection, ClaimedJob job, string owner, string resultsJson, string? usageJson, long now)
    {
        if (!JobStore.Succeed(connection, job, owner, resultsJson, usageJson, now))
        {
            return (false, null);
        }
        var next = connection.Scalar<string>(
            "UPDATE requests SET status = 'queued', updated_at = @now WHERE parent = @deal AND run = @run AND step = @next AND status = @waiting RETURNING id",
            ("@now", now), ("@deal", job.Parent), ("@run", job.Run), ("@next", job.Step + 1), ("@waiting", RequestStatus.Waiting));
        Settle(connection, job.Parent!, job.Run, now);
        return (true, next is null ? null : new JobMessage(next, job.Run));
    }

    /// <summary>
    /// The step failed (its row already says so): refunds its share, cancels the pipeline items
    /// that wait for it, transitively, refunding theirs, and settles the deal. Steps that do not
    /// depend on it go on.
    /// </summary>
    public static void Failed(DbConnection connection, StepRef step, string code, string message, long now)
    {
        var dependents = new List<(int Step, string Id)>();
        using (var command = connection.Sql(
            "SELECT step, id, pipeline FROM requests WHERE parent = @deal AND run = @run AND step > @step ORDER BY step",
            ("@deal", step.Deal), ("@run", step.Run), ("@step", step.Step)))
        using (var reader = command.ExecuteReader())
        {
            // A pipeline item depends on the item before it: the dependents are the unbroken
            // run of pipeline items right after this step.
            while (reader.Read() && reader.GetString(2) != Pipeline.None)
            {
                dependents.Add((reader.GetInt32(0), reader.GetString(1)));
            }
        }
        var refunds = new List<(int Step, long Share)> { (step.Step, step.Share) };
        foreach (var (place, id) in dependents)
        {
            var share = connection.Scalar<long?>(
                """
                UPDATE requests SET status = 'cancelled', error_code = 'dependency_failed', error_message = @message,
                    finished_at = @now, updated_at = @now
                WHERE id = @id AND run = @run AND status = @waiting
                RETURNING price
                """,
                ("@message", $"step {step.Step} failed ({code}), and this step needs its output"), ("@now", now), ("@id", id),
                ("@run", step.Run), ("@waiting", RequestStatus.Waiting));
            if (share is { } s)
            {
                refunds.Add((place, s));
            }
        }
        foreach (var (place, share) in refunds)
        {
            Charges.Refund(connection, step.UserId, step.Deal, step.Run, share, place == step.Step ? code : "dependency_failed", place);
        }
        Settle(connection, step.Deal, step.Run, now);
    }

    /// <summary>
    /// When no step of the deal's run is left to finish, the deal ends: succeeded when every step
    /// did, failed otherwise (its error names the first failed step). Touching the deal's row
    /// first is the lock that orders concurrent step ends (on PostgreSQL two steps ending at once
    /// would otherwise each see the other still running, and the deal would never end); a deal
    /// that is no longer running (cancelled) is left alone.
    /// </summary>
    public static void Settle(DbConnection connection, string deal, int run, long now)
    {
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
        if (steps.Any(s => Live.Contains(s.Status)))
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
            return;
        }
        connection.Execute(
            """
            UPDATE requests SET status = 'failed', error_code = 'step_failed', error_message = @message, finished_at = @now, updated_at = @now
            WHERE id = @deal AND run = @run
            """,
            ("@message", $"step {failed.Step} ({failed.Offer}) failed: {failed.Code}: {failed.Message}"), ("@now", now), ("@deal", deal), ("@run", run));
    }
}
