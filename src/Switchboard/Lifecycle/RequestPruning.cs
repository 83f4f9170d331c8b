using System.Data.Common;
using Switchboard.Blobs;

namespace Switchboard.Lifecycle;

/// <summary>What pruning (or forgetting) removed.</summary>
public sealed record PruneCounts(int Requests, int Steps, int Blobs, int WebhookEvents, int WebhookAttempts)
{
    public static readonly PruneCounts None = new(0, 0, 0, 0, 0);

    public PruneCounts Add(PruneCounts other) => new(
        Requests + other.Requests, Steps + other.Steps, Blobs + other.Blobs, WebhookEvents + other.WebhookEvents, WebhookAttempts + other.WebhookAttempts);
}

/// <summary>
/// Deletes finished requests, for retention (Retention/RetentionService.cs) and a user's forget
/// (Retention/UserForget.cs); here because only the lifecycle writes <c>requests</c>
/// (Architecture/RequestWritesTests): a request (an offer's, or a deal with its steps: they go together)
/// in a final state, with its binary results' links (and each blob no other request lists:
/// <see cref="ResultBlobs.Forget"/>) and its webhook events and attempts. Never a ledger row: in
/// the same unit, a row of <c>requests_pruned</c> keeps what the credits audit checks the ledger
/// against (whose the request was, its last run, that run's status and price). Never a request
/// that is not final, nor a deal with a step that is not: the delete re-checks that in its own
/// statement, so a request re-run (an admin's retry) since it was chosen stays.
/// </summary>
public static class RequestPruning
{
    public const string Retention = "retention";

    public const string Forget = "forget";

    /// <summary>The final states, as SQL: the only ones a request is deleted in.</summary>
    internal static readonly string FinalSql = $"('{RequestStatus.Succeeded}', '{RequestStatus.Failed}', '{RequestStatus.Cancelled}', '{RequestStatus.Expired}')";

    private static readonly string PrunableSql = $"""
        parent IS NULL AND status IN {FinalSql}
        AND NOT EXISTS (SELECT 1 FROM requests s WHERE s.parent = requests.id AND s.status NOT IN {FinalSql})
        """;

    internal static readonly string FinishedSql =
        $"SELECT id FROM requests WHERE created_at < @before AND finished_at < @before AND {PrunableSql} ORDER BY created_at LIMIT @limit";

    /// <summary>
    /// Up to <paramref name="limit"/> requests finished before <paramref name="before"/>, oldest
    /// first. Read through <c>requests_created</c> (migration 7): a request finished before the
    /// cutoff was created before it, and few requests that old are not final.
    /// </summary>
    public static List<string> Finished(DbConnection connection, long before, int limit)
    {
        var ids = new List<string>();
        using var command = connection.Sql(FinishedSql, ("@before", before), ("@limit", limit));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }
        return ids;
    }

    /// <summary>
    /// In a writer unit: deletes the request <paramref name="id"/> and what belongs to it when it
    /// is (still) final and, given <paramref name="finishedBefore"/>, finished before it. Null when
    /// it was not deleted (gone, not final, finished since).
    /// </summary>
    public static PruneCounts? Prune(DbConnection connection, string id, long? finishedBefore, string reason, long now)
    {
        long seq, price;
        string user, kind, status;
        int run;
        long? finished;
        using (var command = connection.Sql(
            $"""
            DELETE FROM requests WHERE id = @id AND {PrunableSql}{(finishedBefore is null ? "" : " AND finished_at < @before")}
            RETURNING seq, user_id, kind, status, price, run, finished_at
            """,
            ("@id", id), ("@before", finishedBefore ?? 0)))
        using (var reader = command.ExecuteReader())
        {
            if (!reader.Read())
            {
                return null;
            }
            (seq, user, kind, status, price, run, finished) =
                (reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4), reader.GetInt32(5), reader.LongOrNull(6));
        }
        connection.Execute(
            """
            INSERT INTO requests_pruned (seq, id, user_id, kind, status, price, run, finished_at, pruned_at, reason)
            VALUES (@seq, @id, @user, @kind, @status, @price, @run, @finished, @now, @reason)
            """,
            ("@seq", seq), ("@id", id), ("@user", user), ("@kind", kind), ("@status", status), ("@price", price), ("@run", run),
            ("@finished", finished), ("@now", now), ("@reason", reason));
        var requestIds = new List<string> { id };
        using (var command = connection.Sql("DELETE FROM requests WHERE parent = @id RETURNING id", ("@id", id)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                requestIds.Add(reader.GetString(0));
            }
        }
        var blobs = ResultBlobs.Forget(connection, id);
        int events = 0, attempts = 0;
        foreach (var request in requestIds)
        {
            attempts += connection.Execute(
                "DELETE FROM webhook_attempts WHERE event_id IN (SELECT id FROM webhook_events WHERE request_id = @request)", ("@request", request));
            events += connection.Execute("DELETE FROM webhook_events WHERE request_id = @request", ("@request", request));
        }
        return new PruneCounts(1, requestIds.Count - 1, blobs, events, attempts);
    }
}
