using System.Data.Common;
using Switchboard.Credits;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Execution;

/// <summary>What a worker needs to run a claimed request.</summary>
public sealed record ClaimedJob(
    string RequestId, int Run, int Attempt, int MaxAttempts, string UserId, string Handler, string Prompt,
    string ParamsJson, int CreateQty, long Price);

/// <summary>
/// The executor's state transitions. Every statement is conditional on the exact claim it acts
/// for (request, run, attempt, owner, status), so a stale worker can never overwrite the work of
/// the one that holds the request now.
/// </summary>
public static class JobStore
{
    // Why `status = @queued` / `@running` in statements that find their row by id: the indexes
    // recon scans are partial (`WHERE status = 'queued'`, `WHERE status = 'running'`). A literal
    // status would let a plan made on an empty table (a prepared statement's generic plan on a
    // new deployment) walk such an index instead of the unique id index, and keep doing so as
    // the table fills: every claim then reads every queued row. A parameter cannot prove a
    // partial index's predicate, so these statements can only use the id index.
    public const string ClaimSql = """
        UPDATE requests SET status = 'running', owner = @owner, attempts = attempts + 1, lease_until = @lease,
            not_before = NULL, started_at = COALESCE(started_at, @now), updated_at = @now
        WHERE id = @id AND run = @run AND status = @queued AND (not_before IS NULL OR not_before <= @now)
        RETURNING attempts, max_attempts, user_id, handler, prompt, params, create_qty, price
        """;

    /// <summary>
    /// queued → running in one statement. Guarantees at most one active execution per request:
    /// a duplicate or stale message finds the row no longer queued (or not yet due) and gets null.
    /// </summary>
    public static ClaimedJob? Claim(DbConnection connection, JobMessage message, string owner, long leaseUntil, long now)
    {
        var command = connection.Cached(
            ClaimSql,
            ("@owner", owner), ("@lease", leaseUntil), ("@now", now), ("@id", message.RequestId), ("@run", message.Run), ("@queued", "queued"));
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }
        return new ClaimedJob(message.RequestId, message.Run, reader.GetInt32(0), reader.GetInt32(1), reader.GetString(2),
            reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetInt32(6), reader.GetInt64(7));
    }

    /// <summary>Milliseconds until a queued run becomes claimable, or null when it is not waiting for a retry.</summary>
    public static long? DueIn(DbConnection connection, JobMessage message, long now)
    {
        var notBefore = connection.Scalar<long?>(
            "SELECT not_before FROM requests WHERE id = @id AND run = @run AND status = @queued",
            ("@id", message.RequestId), ("@run", message.Run), ("@queued", "queued"));
        return notBefore > now ? notBefore - now : null;
    }

    private const string Mine = "id = @id AND run = @run AND attempts = @attempt AND owner = @owner AND status = @running";

    private static (string, object?)[] Key(ClaimedJob job, string owner, long now, params (string, object?)[] more) =>
        [("@id", job.RequestId), ("@run", job.Run), ("@attempt", job.Attempt), ("@owner", owner), ("@now", now), ("@running", "running"), .. more];

    /// <summary>Results and the final status in one statement: written once per (request, attempt), or not at all.</summary>
    public static bool Succeed(DbConnection connection, ClaimedJob job, string owner, string resultsJson, string? usageJson, long now) =>
        connection.Execute(
            $"""
            UPDATE requests SET status = 'succeeded', results = @results, usage = @usage, owner = NULL, lease_until = NULL,
                error_code = NULL, error_message = NULL, finished_at = @now, updated_at = @now,
                expires_at = CASE WHEN expiration IS NULL THEN NULL ELSE @now + expiration * 1000 END
            WHERE {Mine}
            """,
            Key(job, owner, now, ("@results", new Json(resultsJson)), ("@usage", new Json(usageJson)))) == 1;

    /// <summary>Fails the run and refunds it; the refund happens only if this call moved the status.</summary>
    public static bool Fail(DbConnection connection, ClaimedJob job, string owner, string code, string message, string? usageJson, long now)
    {
        var changed = connection.Execute(
            $"""
            UPDATE requests SET status = 'failed', error_code = @code, error_message = @message, usage = @usage,
                owner = NULL, lease_until = NULL, finished_at = @now, updated_at = @now
            WHERE {Mine}
            """,
            Key(job, owner, now, ("@code", code), ("@message", message), ("@usage", new Json(usageJson)))) == 1;
        if (changed)
        {
            Charges.Refund(connection, job.UserId, job.RequestId, job.Run, job.Price, code);
        }
        return changed;
    }

    /// <summary>Back to queued after a transient failure, not to be claimed before <paramref name="notBefore"/>.</summary>
    public static bool Retry(DbConnection connection, ClaimedJob job, string owner, string code, string message, long notBefore, long now) =>
        connection.Execute(
            $"""
            UPDATE requests SET status = 'queued', error_code = @code, error_message = @message, owner = NULL,
                lease_until = NULL, not_before = @notBefore, updated_at = @now
            WHERE {Mine}
            """,
            Key(job, owner, now, ("@code", code), ("@message", message), ("@notBefore", notBefore))) == 1;

    /// <summary>Gives an unfinished job back on shutdown; the attempt is not counted against it.</summary>
    public static bool Release(DbConnection connection, ClaimedJob job, string owner, long now) =>
        connection.Execute(
            $"""
            UPDATE requests SET status = 'queued', attempts = attempts - 1, owner = NULL, lease_until = NULL, updated_at = @now
            WHERE {Mine}
            """,
            Key(job, owner, now)) == 1;

    /// <summary>Heartbeat: extends the lease; false when the job is no longer this worker's (cancelled or taken over).</summary>
    public static bool Renew(DbConnection connection, InFlightJob job, string owner, long leaseUntil) =>
        connection.Execute(
            "UPDATE requests SET lease_until = @lease WHERE id = @id AND run = @run AND attempts = @attempt AND owner = @owner AND status = @running",
            ("@lease", leaseUntil), ("@id", job.RequestId), ("@run", job.Run), ("@attempt", job.Attempt), ("@owner", owner), ("@running", "running")) == 1;
}
