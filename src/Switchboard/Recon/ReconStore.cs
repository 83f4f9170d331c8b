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
    /// Queued requests untouched since <paramref name="updatedBefore"/>, oldest first, with when
    /// each is due: the candidates recon checks against the queue for a missing message. Each
    /// message carries its user, stored priority and the user's weight (own, else the plan's, else
    /// 1; the weight is not stored on the request), so a message sent again waits where the
    /// original did in a fair queue.
    /// </summary>
    public static List<(JobMessage Message, long? NotBefore)> Queued(DbConnection connection, long updatedBefore, int limit)
    {
        using var command = connection.Sql(
            """
            SELECT r.id, r.run, r.not_before, r.handler, r.user_id, r.priority, COALESCE(u.weight, p.weight, 1)
            FROM requests r LEFT JOIN users u ON u.id = r.user_id LEFT JOIN plans p ON p.name = u.plan
            WHERE r.status = 'queued' AND r.updated_at <= @before ORDER BY r.seq LIMIT @limit
            """,
            ("@before", updatedBefore), ("@limit", limit));
        using var reader = command.ExecuteReader();
        var list = new List<(JobMessage, long?)>();
        while (reader.Read())
        {
            var message = new JobMessage(reader.GetString(0), reader.GetInt32(1), reader.GetString(3), reader.GetString(4), reader.GetInt32(5), reader.GetInt32(6));
            list.Add((message, reader.LongOrNull(2)));
        }
        return list;
    }

    /// <summary>The handlers that have queued requests (a deal's own row has no job: not counted).</summary>
    public static List<string> QueuedHandlers(DbConnection connection)
    {
        using var command = connection.Sql("SELECT DISTINCT handler FROM requests WHERE status = 'queued' AND kind <> 'deal'");
        using var reader = command.ExecuteReader();
        var list = new List<string>();
        while (reader.Read())
        {
            list.Add(reader.GetString(0));
        }
        return list;
    }
}
