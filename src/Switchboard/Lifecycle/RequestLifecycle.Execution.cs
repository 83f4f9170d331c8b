using System.Data.Common;
using Switchboard.Credits;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Lifecycle;

/// <summary>
/// The executor's transitions: claim, renew, succeed, fail with refund, retry, release. Every
/// statement is conditional on the exact claim it acts for (request, run, attempt, owner,
/// status), so a stale worker can never overwrite the work of the one that holds the request now.
/// </summary>
public sealed partial class RequestLifecycle
{
    // Why `status = @queued` / `@running` in statements that find their row by id: the indexes
    // recon scans are partial (`WHERE status = 'queued'`, `WHERE status = 'running'`). A literal
    // status would let a plan made on an empty table (a prepared statement's generic plan on a
    // new deployment) walk such an index instead of the unique id index, and keep doing so as
    // the table fills: every claim then reads every queued row. A parameter cannot prove a
    // partial index's predicate, so these statements can only use the id index.
    public const string ClaimSql = $"""
        UPDATE requests SET status = 'running', owner = @owner, attempts = attempts + 1, lease_until = @lease,
            not_before = NULL, progress = NULL, started_at = COALESCE(started_at, @now), updated_at = @now
        WHERE id = @id AND run = @run AND status = @queued AND (not_before IS NULL OR not_before <= @now) AND format <= @format
        RETURNING attempts, max_attempts, user_id, handler, prompt, params, create_qty, price, parent, step, pipeline,
            trace_parent, created_at, priority, endpoint, usage, {UserWeightSql}
        """;

    /// <summary>
    /// The user's fair-queue weight (their own, else their plan's, else 1), read at the claim: a
    /// retry and a resource lane need it, and a message read back from Redis (<c>id:run</c>) does
    /// not carry it. Two primary-key lookups.
    /// </summary>
    private const string UserWeightSql = "(SELECT COALESCE(u.weight, p.weight, 1) FROM users u LEFT JOIN plans p ON p.name = u.plan WHERE u.id = user_id)";

    /// <summary>
    /// queued → running in one statement. Guarantees at most one active execution per request:
    /// a duplicate or stale message finds the row no longer queued (or not yet due) and gets null.
    /// A row of a format newer than this build reads (<see cref="Formats.Request"/>) is not claimed
    /// either: it is left for a build that reads it (<see cref="ClaimMissAsync"/> says so).
    /// </summary>
    private ClaimedJob? Claim(DbConnection connection, LifecycleUnit? unit, JobMessage message, string owner, long leaseUntil, long now)
    {
        ClaimedJob job;
        var command = connection.Cached(
            ClaimSql,
            ("@owner", owner), ("@lease", leaseUntil), ("@now", now), ("@id", message.RequestId), ("@run", message.Run), ("@queued", "queued"), ("@format", Formats.Request));
        using (var reader = command.ExecuteReader())
        {
            if (!reader.Read())
            {
                return null;
            }
            job = new ClaimedJob(message.RequestId, message.Run, reader.GetInt32(0), reader.GetInt32(1), reader.GetString(2),
                reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetInt32(6), reader.GetInt64(7),
                reader.StringOrNull(8), reader.IntOrNull(9), reader.StringOrNull(10))
            {
                TraceParent = reader.StringOrNull(11), QueuedAt = reader.GetInt64(12), Priority = reader.GetInt32(13),
                PriorEndpoint = reader.StringOrNull(14), PriorUsage = reader.StringOrNull(15), Weight = Math.Max(1, reader.IntOrNull(16) ?? 1),
            };
        }
        Changed(unit, job.Kind, Claimed(job, now));
        return job;
    }

    private static Transition Claimed(ClaimedJob job, long now) =>
        new(job.RequestId, job.Run, RequestStatus.Queued, RequestStatus.Running, now) { UserId = job.UserId, Price = job.Price, Deal = job.Parent, Step = job.Step };

    /// <summary>
    /// A claim: on PostgreSQL, claims of one group commit run as one statement
    /// (<see cref="ClaimManySql"/>); on SQLite, <see cref="ClaimSql"/>.
    /// </summary>
    public async Task<ClaimedJob?> ClaimAsync(JobMessage message, string owner, long leaseUntil, long now)
    {
        var attached = Attached(RequestKind.Offer, RequestStatus.Running) || Attached(RequestKind.Step, RequestStatus.Running);
        if (_store.Kind != StoreKind.Postgres)
        {
            var handled = Handled(RequestKind.Offer, RequestStatus.Running) || Handled(RequestKind.Step, RequestStatus.Running);
            return await WriteStatementAsync(attached, handled, (c, unit) => Claim(c, unit, message, owner, leaseUntil, now));
        }
        var claim = UnitIf(attached);
        var job = await _store.WriteBatchedAsync(_claimMany, (message, owner, leaseUntil, now, claim));
        if (claim is not null)
        {
            await claim.PublishAsync();
        }
        return job;
    }

    public const string ClaimManySql = $"""
        UPDATE requests r SET status = 'running', owner = m.owner, attempts = r.attempts + 1, lease_until = m.lease,
            not_before = NULL, progress = NULL, started_at = COALESCE(r.started_at, m.now), updated_at = m.now
        FROM unnest(@ids::text[], @runs::integer[], @owners::text[], @leases::bigint[], @nows::bigint[]) AS m(id, run, owner, lease, now)
        WHERE r.id = m.id AND r.run = m.run AND r.status = @queued AND (r.not_before IS NULL OR r.not_before <= m.now) AND r.format <= @format
        RETURNING r.id, r.run, r.attempts, r.max_attempts, r.user_id, r.handler, r.prompt, r.params, r.create_qty, r.price,
            r.parent, r.step, r.pipeline, r.trace_parent, r.created_at, r.priority, r.endpoint, r.usage, {UserWeightSql}
        """;

    /// <summary>
    /// PostgreSQL: the claim for many messages in one statement. A request named twice in the
    /// group is claimed once, for the first of its messages; the others get null like any
    /// duplicate. The join finds each row through the unique id index (see the note on ClaimSql
    /// for why the status is a parameter).
    /// </summary>
    private readonly BatchedStatement<(JobMessage Message, string Owner, long LeaseUntil, long Now, LifecycleUnit? Unit), ClaimedJob?> _claimMany;

    private IReadOnlyList<ClaimedJob?> ClaimMany(DbConnection connection, IReadOnlyList<(JobMessage Message, string Owner, long LeaseUntil, long Now, LifecycleUnit? Unit)> items)
    {
        Begin(connection, items.Select(i => i.Unit));
        using var command = connection.Sql(
            ClaimManySql,
            ("@ids", items.Select(i => i.Message.RequestId).ToArray()), ("@runs", items.Select(i => i.Message.Run).ToArray()),
            ("@owners", items.Select(i => i.Owner).ToArray()), ("@leases", items.Select(i => i.LeaseUntil).ToArray()),
            ("@nows", items.Select(i => i.Now).ToArray()), ("@queued", "queued"), ("@format", Formats.Request));
        var claimed = new Dictionary<JobMessage, ClaimedJob>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var message = new JobMessage(reader.GetString(0), reader.GetInt32(1), reader.GetString(5));
                claimed[message] = new ClaimedJob(message.RequestId, message.Run, reader.GetInt32(2), reader.GetInt32(3), reader.GetString(4),
                    reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetInt32(8), reader.GetInt64(9),
                    reader.StringOrNull(10), reader.IntOrNull(11), reader.StringOrNull(12))
                {
                    TraceParent = reader.StringOrNull(13), QueuedAt = reader.GetInt64(14), Priority = reader.GetInt32(15),
                    PriorEndpoint = reader.StringOrNull(16), PriorUsage = reader.StringOrNull(17), Weight = Math.Max(1, reader.IntOrNull(18) ?? 1),
                };
            }
        }
        var jobs = items.Select(i => claimed.Remove(i.Message, out var job) ? job : null).ToArray();
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].Unit is { } unit && jobs[i] is { } job)
            {
                Changed(unit, job.Kind, Claimed(job, items[i].Now));
            }
        }
        return jobs;
    }

    /// <summary>
    /// Milliseconds until a queued run that was not due at <paramref name="claimedAt"/> (the time
    /// its failed claim used) becomes claimable: zero if it has become due since, null when it was
    /// not waiting for a retry. Comparing with the claim's time, not the present, keeps a message
    /// that came a moment early: read after not_before had passed (a slow or blocked claim), the
    /// row would look not waiting and the message would be dropped, leaving the request to recon.
    /// </summary>
    public async Task<long?> DueInAsync(JobMessage message, long claimedAt) => (await ClaimMissAsync(message, claimedAt)).DueIn;

    /// <summary>
    /// Why a claim at <paramref name="claimedAt"/> got nothing, as far as the row still queued
    /// says: it waits for a retry (<see cref="ClaimMiss.DueIn"/>, as <see cref="DueInAsync"/>), or
    /// it is of a format newer than this build reads (<see cref="ClaimMiss.NewerFormat"/>: its
    /// message is left for a build that reads it). Both null: the message is stale or a duplicate.
    /// </summary>
    public Task<ClaimMiss> ClaimMissAsync(JobMessage message, long claimedAt) => _store.WriteStatementAsync(c =>
    {
        // Read on the writer, like the claim it follows: it sees what the claim saw.
        using var command = c.Sql(
            "SELECT not_before, format FROM requests WHERE id = @id AND run = @run AND status = @queued",
            ("@id", message.RequestId), ("@run", message.Run), ("@queued", "queued"));
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return default(ClaimMiss);
        }
        var format = reader.GetInt32(1);
        if (format > Formats.Request)
        {
            return new ClaimMiss(null, format);
        }
        var notBefore = reader.LongOrNull(0);
        return new ClaimMiss(notBefore > claimedAt ? Math.Max(0, notBefore.Value - Clock.NowMs()) : null, null);
    });

    private const string Mine = "id = @id AND run = @run AND attempts = @attempt AND owner = @owner AND status = @running";

    /// <summary>
    /// 1 when the finished request may have a completion webhook to write (a one-off URL, or an
    /// enabled endpoint of its user's): when 0, the outbox's insert is skipped (Webhooks/WebhookOutbox.cs),
    /// a statement per request on the hot path that almost always wrote nothing.
    /// </summary>
    private static string MayHaveWebhooks(string table) =>
        $"CASE WHEN {table}.webhook_url IS NOT NULL OR EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.user_id = {table}.user_id AND e.enabled = 1) THEN 1 ELSE 0 END";

    private static (string, object?)[] Key(ClaimedJob job, string owner, long now, params (string, object?)[] more) =>
        [("@id", job.RequestId), ("@run", job.Run), ("@attempt", job.Attempt), ("@owner", owner), ("@now", now), ("@running", "running"), .. more];

    private static Transition From(ClaimedJob job, string to, long now) =>
        new(job.RequestId, job.Run, RequestStatus.Running, to, now) { UserId = job.UserId, Price = job.Price, Deal = job.Parent, Step = job.Step };

    /// <summary>
    /// running → succeeded: results and the final status in one statement, written once per
    /// (request, attempt), or not at all. A deal's step goes on in its deal's handler, in the same unit.
    /// </summary>
    private bool Succeed(DbConnection connection, LifecycleUnit? unit, ClaimedJob job, string owner, string resultsJson, string? usageJson, long now)
    {
        var webhooks = connection.Scalar<long?>(
            $"""
            UPDATE requests SET status = 'succeeded', results = @results, usage = @usage, owner = NULL, lease_until = NULL,
                error_code = NULL, error_message = NULL, finished_at = @now, updated_at = @now, endpoint = COALESCE(@endpoint, endpoint),
                expires_at = CASE WHEN expiration IS NULL THEN NULL ELSE @now + expiration * 1000 END
            WHERE {Mine}
            RETURNING {MayHaveWebhooks("requests")}
            """,
            Key(job, owner, now, ("@results", new Json(resultsJson)), ("@usage", new Json(usageJson)), ("@endpoint", job.Endpoint)));
        if (webhooks is null)
        {
            return false;
        }
        Changed(unit, job.Kind, From(job, RequestStatus.Succeeded, now) with { Results = resultsJson, Webhooks = webhooks != 0 });
        return true;
    }

    /// <summary>
    /// A success. An offer's: on PostgreSQL, successes of one group commit run as one statement
    /// (<see cref="SucceedManySql"/>). A deal's step: a unit of its own, where its deal's handler
    /// starts the next step and settles the deal; after the commit the handler's work runs
    /// (the results to the job data store, then the next step's message) before this returns.
    /// False when the job was no longer this worker's.
    /// </summary>
    /// <param name="alongside">
    /// What the success writes beside its results (the binary results' blobs and links), in its
    /// unit and only when the success itself was written: so the two commit together or not at all.
    /// </param>
    public async Task<bool> SucceedAsync(ClaimedJob job, string owner, string resultsJson, string? usageJson, Action<DbConnection, long>? alongside = null)
    {
        var attached = Attached(job.Kind, RequestStatus.Succeeded);
        if (alongside is not null)
        {
            return await WriteAsync(attached, (c, unit) =>
            {
                var now = Clock.NowMs();
                if (!Succeed(c, unit, job, owner, resultsJson, usageJson, now))
                {
                    return false;
                }
                alongside(c, now);
                return true;
            });
        }
        if (job.Parent is not null)
        {
            return await WriteAsync(attached, (c, unit) => Succeed(c, unit, job, owner, resultsJson, usageJson, Clock.NowMs()));
        }
        if (_store.Kind != StoreKind.Postgres)
        {
            return await WriteStatementAsync(attached, Handled(job.Kind, RequestStatus.Succeeded),
                (c, unit) => Succeed(c, unit, job, owner, resultsJson, usageJson, Clock.NowMs()));
        }
        var success = UnitIf(attached);
        var done = await _store.WriteBatchedAsync(_succeedMany, (job, owner, resultsJson, usageJson, Clock.NowMs(), success));
        if (success is not null)
        {
            await success.PublishAsync();
        }
        return done;
    }

    public static readonly string SucceedManySql = $"""
        UPDATE requests r SET status = 'succeeded', results = m.results::jsonb, usage = m.usage::jsonb, owner = NULL,
            lease_until = NULL, error_code = NULL, error_message = NULL, finished_at = m.now, updated_at = m.now,
            expires_at = CASE WHEN r.expiration IS NULL THEN NULL ELSE m.now + r.expiration * 1000 END,
            endpoint = COALESCE(m.endpoint, r.endpoint)
        FROM unnest(@ids::text[], @runs::integer[], @attempts::integer[], @owners::text[], @results::text[], @usages::text[], @nows::bigint[],
            @endpoints::text[])
            AS m(id, run, attempt, owner, results, usage, now, endpoint)
        WHERE r.id = m.id AND r.run = m.run AND r.attempts = m.attempt AND r.owner = m.owner AND r.status = @running
        RETURNING r.id, r.run, r.attempts, {MayHaveWebhooks("r")}
        """;

    /// <summary>PostgreSQL: the success of many offers' jobs in one statement, each still conditional on its own claim.</summary>
    private readonly BatchedStatement<(ClaimedJob Job, string Owner, string Results, string? Usage, long Now, LifecycleUnit? Unit), bool> _succeedMany;

    private IReadOnlyList<bool> SucceedMany(DbConnection connection, IReadOnlyList<(ClaimedJob Job, string Owner, string Results, string? Usage, long Now, LifecycleUnit? Unit)> items)
    {
        Begin(connection, items.Select(i => i.Unit));
        using var command = connection.Sql(
            SucceedManySql,
            ("@ids", items.Select(i => i.Job.RequestId).ToArray()), ("@runs", items.Select(i => i.Job.Run).ToArray()),
            ("@attempts", items.Select(i => i.Job.Attempt).ToArray()), ("@owners", items.Select(i => i.Owner).ToArray()),
            ("@results", items.Select(i => i.Results).ToArray()), ("@usages", items.Select(i => i.Usage).ToArray()),
            ("@nows", items.Select(i => i.Now).ToArray()), ("@endpoints", items.Select(i => i.Job.Endpoint).ToArray()), ("@running", "running"));
        var done = new Dictionary<(string, int, int), bool>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                done[(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2))] = reader.GetInt32(3) != 0;
            }
        }
        var webhooks = new bool[items.Count];
        var succeeded = items.Select((item, i) => done.Remove((item.Job.RequestId, item.Job.Run, item.Job.Attempt), out webhooks[i])).ToArray();
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].Unit is { } unit && succeeded[i])
            {
                var (job, _, results, _, now, _) = items[i];
                Changed(unit, job.Kind, From(job, RequestStatus.Succeeded, now) with { Results = results, Webhooks = webhooks[i] });
            }
        }
        return succeeded;
    }

    /// <summary>
    /// running → failed, with the refund; the refund happens only if this call moved the status.
    /// A deal's step refunds its share and stops the steps that wait for it in its deal's
    /// handler (the lock order of a deal: step rows, then the payer, then the deal's row).
    /// </summary>
    private bool Fail(DbConnection connection, LifecycleUnit? unit, ClaimedJob job, string owner, string code, string message, string? usageJson, long now)
    {
        var changed = connection.Execute(
            $"""
            UPDATE requests SET status = 'failed', error_code = @code, error_message = @message, usage = @usage,
                owner = NULL, lease_until = NULL, finished_at = @now, updated_at = @now, endpoint = COALESCE(@endpoint, endpoint)
            WHERE {Mine}
            """,
            Key(job, owner, now, ("@code", code), ("@message", message), ("@usage", new Json(usageJson)), ("@endpoint", job.Endpoint))) == 1;
        if (!changed)
        {
            return false;
        }
        if (job.Parent is null)
        {
            Charges.Refund(connection, job.UserId, job.RequestId, job.Run, job.Price, code);
        }
        Changed(unit, job.Kind, From(job, RequestStatus.Failed, now) with { Code = code, Message = message });
        return true;
    }

    public Task<bool> FailAsync(ClaimedJob job, string owner, string code, string message, string? usageJson) =>
        WriteAsync(Attached(job.Kind, RequestStatus.Failed), (c, unit) => Fail(c, unit, job, owner, code, message, usageJson, Clock.NowMs()));

    /// <summary>
    /// running → queued after a transient failure, not to be claimed before <paramref name="notBefore"/>.
    /// <paramref name="endpoint"/> (a fallback's next endpoint, else the one that failed) and
    /// <paramref name="usageJson"/> (the endpoints tried so far) are kept on the row when given.
    /// </summary>
    public Task<bool> RetryAsync(ClaimedJob job, string owner, string code, string message, long notBefore, string? endpoint = null, string? usageJson = null) =>
        WriteStatementAsync(Attached(job.Kind, RequestStatus.Queued), Handled(job.Kind, RequestStatus.Queued), (c, unit) =>
        {
            var now = Clock.NowMs();
            if (c.Execute(
                $"""
                UPDATE requests SET status = 'queued', error_code = @code, error_message = @message, owner = NULL,
                    lease_until = NULL, not_before = @notBefore, progress = NULL, updated_at = @now,
                    endpoint = COALESCE(@endpoint, endpoint), usage = COALESCE(@usage, usage)
                WHERE {Mine}
                """,
                Key(job, owner, now, ("@code", code), ("@message", message), ("@notBefore", notBefore), ("@endpoint", endpoint), ("@usage", new Json(usageJson)))) != 1)
            {
                return false;
            }
            Changed(unit, job.Kind, From(job, RequestStatus.Queued, now) with { Code = code, Message = message });
            return true;
        });

    /// <summary>running → queued: gives an unfinished job back (shutdown, a resource to wait for); the attempt is not counted against it.</summary>
    public Task<bool> ReleaseAsync(ClaimedJob job, string owner) =>
        WriteAsync(Attached(job.Kind, RequestStatus.Queued), (c, unit) =>
        {
            var now = Clock.NowMs();
            if (c.Execute(
                $"""
                UPDATE requests SET status = 'queued', attempts = attempts - 1, owner = NULL, lease_until = NULL, progress = NULL, updated_at = @now,
                    endpoint = COALESCE(@endpoint, endpoint)
                WHERE {Mine}
                """,
                Key(job, owner, now, ("@endpoint", job.Endpoint))) != 1)
            {
                return false;
            }
            Changed(unit, job.Kind, From(job, RequestStatus.Queued, now));
            return true;
        });

    /// <summary>
    /// Heartbeat: extends the lease; false when the job is no longer this worker's (cancelled or
    /// taken over). Not a change of status, so it does not pass the change point.
    /// </summary>
    public static bool Renew(DbConnection connection, string requestId, int run, int attempt, string owner, long leaseUntil) =>
        connection.Execute(
            "UPDATE requests SET lease_until = @lease WHERE id = @id AND run = @run AND attempts = @attempt AND owner = @owner AND status = @running",
            ("@lease", leaseUntil), ("@id", requestId), ("@run", run), ("@attempt", attempt), ("@owner", owner), ("@running", "running")) == 1;
}

/// <summary>What the row says about a claim that got nothing (<see cref="RequestLifecycle.ClaimMissAsync"/>).</summary>
/// <param name="DueIn">Milliseconds until a retry waiting for its time becomes claimable.</param>
/// <param name="NewerFormat">The row's format, when this build does not read it.</param>
public readonly record struct ClaimMiss(long? DueIn, int? NewerFormat);
