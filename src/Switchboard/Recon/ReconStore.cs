using System.Data.Common;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Recon;

/// <summary>
/// The store reads behind recon's repairs; the repairs themselves are transitions of the
/// request's lifecycle (<see cref="Lifecycle.RequestLifecycle.RecoverExpiredLeasesAsync"/>, <see cref="Lifecycle.RequestLifecycle.ExpireResultsAsync"/>).
/// </summary>
public static class ReconStore
{
    /// <summary>
    /// Queued requests untouched since <paramref name="updatedBefore"/> and after
    /// <paramref name="afterSeq"/> in submission order, oldest first, with when each is due and its
    /// <c>seq</c>: the candidates recon checks against the queue for a missing message. Each
    /// message carries its user and stored priority; its weight is <see cref="WithWeights"/>'s, for
    /// the few found missing (a join per candidate cost more than the rest of the pass).
    /// </summary>
    public static List<(JobMessage Message, long? NotBefore, long Seq)> Queued(DbConnection connection, long updatedBefore, long afterSeq, int limit)
    {
        using var command = connection.Sql(
            """
            SELECT id, run, not_before, handler, user_id, priority, seq FROM requests
            WHERE status = 'queued' AND seq > @after AND updated_at <= @before ORDER BY seq LIMIT @limit
            """,
            ("@before", updatedBefore), ("@after", afterSeq), ("@limit", limit));
        using var reader = command.ExecuteReader();
        var list = new List<(JobMessage, long?, long)>();
        while (reader.Read())
        {
            var message = new JobMessage(reader.GetString(0), reader.GetInt32(1), reader.GetString(3), reader.GetString(4), reader.GetInt32(5));
            list.Add((message, reader.LongOrNull(2), reader.GetInt64(6)));
        }
        return list;
    }

    /// <summary>
    /// The messages with their users' weights (own, else the plan's, else 1; not stored on the
    /// request), so that a message sent again waits where the original did in a fair queue.
    /// </summary>
    public static List<JobMessage> WithWeights(DbConnection connection, IReadOnlyList<JobMessage> messages)
    {
        var weights = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var user in messages.Select(m => m.UserId).OfType<string>().Distinct(StringComparer.Ordinal))
        {
            weights[user] = Lifecycle.RequestLifecycle.UserWeight(connection, user);
        }
        return [.. messages.Select(m => m.UserId is { } user ? m with { Weight = weights[user] } : m)];
    }
}
