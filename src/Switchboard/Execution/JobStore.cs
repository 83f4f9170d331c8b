using System.Data.Common;
using Switchboard.Credits;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Execution;

/// <summary>What a worker needs to run a claimed request. <see cref="Parent"/> and <see cref="Step"/> are set on a deal's step.</summary>
public sealed record ClaimedJob(
    string RequestId, int Run, int Attempt, int MaxAttempts, string UserId, string Handler, string Prompt,
    string ParamsJson, int CreateQty, long Price, string? Parent = null, int? Step = null, string? Pipeline = null);

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
        RETURNING attempts, max_attempts, user_id, handler, prompt, params, create_qty, price, parent, step, pipeline
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
            reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetInt32(6), reader.GetInt64(7),
            reader.StringOrNull(8), reader.IntOrNull(9), reader.StringOrNull(10));
    }

    /// <summary>
    /// A claim: on PostgreSQL, claims of one group commit run as one statement
    /// (<see cref="ClaimMany"/>); on SQLite, <see cref="Claim"/>.
    /// </summary>
    public static Task<ClaimedJob?> ClaimAsync(Store store, JobMessage message, string owner, long leaseUntil, long now) =>
        store.Kind == StoreKind.Postgres
            ? store.WriteBatchedAsync(ClaimMany, (message, owner, leaseUntil, now))
            : store.WriteStatementAsync(c => Claim(c, message, owner, leaseUntil, now));

    public const string ClaimManySql = """
        UPDATE requests r SET status = 'running', owner = m.owner, attempts = r.attempts + 1, lease_until = m.lease,
            not_before = NULL, started_at = COALESCE(r.started_at, m.now), updated_at = m.now
        FROM unnest(@ids::text[], @runs::integer[], @owners::text[], @leases::bigint[], @nows::bigint[]) AS m(id, run, owner, lease, now)
        WHERE r.id = m.id AND r.run = m.run AND r.status = @queued AND (r.not_before IS NULL OR r.not_before <= m.now)
        RETURNING r.id, r.run, r.attempts, r.max_attempts, r.user_id, r.handler, r.prompt, r.params, r.create_qty, r.price,
            r.parent, r.step, r.pipeline
        """;

    /// <summary>
    /// PostgreSQL: <see cref="Claim"/> for many messages in one statement. A request named twice
    /// in the group is claimed once, for the first of its messages; the others get null like any
    /// duplicate. The join finds each row through the unique id index (see the note on ClaimSql
    /// for why the status is a parameter).
    /// </summary>
    public static readonly BatchedStatement<(JobMessage Message, string Owner, long LeaseUntil, long Now), ClaimedJob?> ClaimMany = new((connection, items) =>
    {
        using var command = connection.Sql(
            ClaimManySql,
            ("@ids", items.Select(i => i.Message.RequestId).ToArray()), ("@runs", items.Select(i => i.Message.Run).ToArray()),
            ("@owners", items.Select(i => i.Owner).ToArray()), ("@leases", items.Select(i => i.LeaseUntil).ToArray()),
            ("@nows", items.Select(i => i.Now).ToArray()), ("@queued", "queued"));
        var claimed = new Dictionary<JobMessage, ClaimedJob>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var message = new JobMessage(reader.GetString(0), reader.GetInt32(1));
                claimed[message] = new ClaimedJob(message.RequestId, message.Run, reader.GetInt32(2), reader.GetInt32(3), reader.GetString(4),
                    reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetInt32(8), reader.GetInt64(9),
                    reader.StringOrNull(10), reader.IntOrNull(11), reader.StringOrNull(12));
            }
        }
        return [.. items.Select(i => claimed.Remove(i.Message, out var job) ? job : null)];
    });

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

    /// <summary>A success: on PostgreSQL, successes of one group commit run as one statement (<see cref="SucceedMany"/>).</summary>
    public static Task<bool> SucceedAsync(Store store, ClaimedJob job, string owner, string resultsJson, string? usageJson) =>
        store.Kind == StoreKind.Postgres
            ? store.WriteBatchedAsync(SucceedMany, (job, owner, resultsJson, usageJson, Clock.NowMs()))
            : store.WriteStatementAsync(c => Succeed(c, job, owner, resultsJson, usageJson, Clock.NowMs()));

    public const string SucceedManySql = """
        UPDATE requests r SET status = 'succeeded', results = m.results::jsonb, usage = m.usage::jsonb, owner = NULL,
            lease_until = NULL, error_code = NULL, error_message = NULL, finished_at = m.now, updated_at = m.now,
            expires_at = CASE WHEN r.expiration IS NULL THEN NULL ELSE m.now + r.expiration * 1000 END
        FROM unnest(@ids::text[], @runs::integer[], @attempts::integer[], @owners::text[], @results::text[], @usages::text[], @nows::bigint[])
            AS m(id, run, attempt, owner, results, usage, now)
        WHERE r.id = m.id AND r.run = m.run AND r.attempts = m.attempt AND r.owner = m.owner AND r.status = @running
        RETURNING r.id, r.run, r.attempts
        """;

    /// <summary>PostgreSQL: <see cref="Succeed"/> for many jobs in one statement, each still conditional on its own claim.</summary>
    public static readonly BatchedStatement<(ClaimedJob Job, string Owner, string Results, string? Usage, long Now), bool> SucceedMany = new((connection, items) =>
    {
        using var command = connection.Sql(
            SucceedManySql,
            ("@ids", items.Select(i => i.Job.RequestId).ToArray()), ("@runs", items.Select(i => i.Job.Run).ToArray()),
            ("@attempts", items.Select(i => i.Job.Attempt).ToArray()), ("@owners", items.Select(i => i.Owner).ToArray()),
            ("@results", items.Select(i => i.Results).ToArray()), ("@usages", items.Select(i => i.Usage).ToArray()),
            ("@nows", items.Select(i => i.Now).ToArray()), ("@running", "running"));
        var done = new HashSet<(string, int, int)>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                done.Add((reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2)));
            }
        }
        return [.. items.Select(i => done.Remove((i.Job.RequestId, i.Job.Run, i.Job.Attempt)))];
    });

    /// <summary>
    /// Fails the run and refunds it; the refund happens only if this call moved the status. A
    /// deal's step refunds its share and stops the steps that wait for it (<see cref="Deals.DealSteps.Failed"/>).
    /// </summary>
    public static bool Fail(DbConnection connection, ClaimedJob job, string owner, string code, string message, string? usageJson, long now)
    {
        var changed = connection.Execute(
            $"""
            UPDATE requests SET status = 'failed', error_code = @code, error_message = @message, usage = @usage,
                owner = NULL, lease_until = NULL, finished_at = @now, updated_at = @now
            WHERE {Mine}
            """,
            Key(job, owner, now, ("@code", code), ("@message", message), ("@usage", new Json(usageJson)))) == 1;
        if (changed && job.Parent is { } deal)
        {
            Deals.DealSteps.Failed(connection, new Deals.StepRef(deal, job.Step!.Value, job.Run, job.UserId, job.Price), code, message, now);
        }
        else if (changed)
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
