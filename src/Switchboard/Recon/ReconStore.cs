using System.Data.Common;
using Switchboard.Credits;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Recon;

/// <summary>The store queries behind recon's repairs. Each repair is conditional on the state it read.</summary>
public static class ReconStore
{
    /// <summary>
    /// Queued requests untouched since <paramref name="updatedBefore"/>, oldest first, with when
    /// each is due: the candidates recon checks against the queue for a missing message.
    /// </summary>
    public static List<(JobMessage Message, long? NotBefore)> Queued(DbConnection connection, long updatedBefore, int limit)
    {
        using var command = connection.Sql(
            "SELECT id, run, not_before FROM requests WHERE status = 'queued' AND updated_at <= @before ORDER BY seq LIMIT @limit",
            ("@before", updatedBefore), ("@limit", limit));
        using var reader = command.ExecuteReader();
        var list = new List<(JobMessage, long?)>();
        while (reader.Read())
        {
            list.Add((new JobMessage(reader.GetString(0), reader.GetInt32(1)), reader.LongOrNull(2)));
        }
        return list;
    }

    /// <summary>
    /// Running requests whose lease expired (their worker died or hung): back to queued, or
    /// failed with a refund once their attempts are used up. Returns the ones to dispatch and the ids of the failed ones.
    /// </summary>
    /// <param name="leaseBefore">
    /// Rows with <c>lease_until</c> before this: recon passes now; an embedded server taking back
    /// its dead predecessor's jobs at start passes <see cref="long.MaxValue"/> (its data-folder lock proves no one else runs them).
    /// </param>
    public static (List<JobMessage> Requeued, List<string> Failed) RecoverExpiredLeases(DbConnection connection, long now, long leaseBefore)
    {
        var expired = new List<(string Id, int Run, int Attempts, int Max, string Owner, string User, long Price, string? Parent, int? Step)>();
        using (var command = connection.Sql(
            "SELECT id, run, attempts, max_attempts, owner, user_id, price, parent, step FROM requests WHERE status = 'running' AND lease_until < @before",
            ("@before", leaseBefore)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                expired.Add((reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3), reader.StringOrNull(4) ?? "",
                    reader.GetString(5), reader.GetInt64(6), reader.StringOrNull(7), reader.IntOrNull(8)));
            }
        }
        var requeued = new List<JobMessage>();
        var failed = new List<string>();
        foreach (var r in expired)
        {
            const string Same = "id = @id AND run = @run AND attempts = @attempts AND owner = @owner AND status = @running AND lease_until < @before";
            (string, object?)[] args = [("@id", r.Id), ("@run", r.Run), ("@attempts", r.Attempts), ("@owner", r.Owner), ("@now", now), ("@before", leaseBefore), ("@running", "running")];
            if (r.Attempts >= r.Max)
            {
                if (connection.Execute(
                    $"""
                    UPDATE requests SET status = 'failed', error_code = 'worker_lost',
                        error_message = 'the worker running this request stopped responding, and its attempts are used up',
                        owner = NULL, lease_until = NULL, finished_at = @now, updated_at = @now
                    WHERE {Same}
                    """, args) == 1)
                {
                    if (r.Parent is { } deal)
                    {
                        Deals.DealSteps.Failed(connection, new Deals.StepRef(deal, r.Step!.Value, r.Run, r.User, r.Price), "worker_lost",
                            "the worker running this step stopped responding", now);
                    }
                    else
                    {
                        Charges.Refund(connection, r.User, r.Id, r.Run, r.Price, "worker_lost");
                    }
                    failed.Add(r.Id);
                }
            }
            else if (connection.Execute(
                $"UPDATE requests SET status = 'queued', owner = NULL, lease_until = NULL, updated_at = @now WHERE {Same}", args) == 1)
            {
                requeued.Add(new JobMessage(r.Id, r.Run));
            }
        }
        return (requeued, failed);
    }

    /// <summary>
    /// Succeeded requests past their expiration lose their results and become expired; a deal's
    /// steps with it (steps have no expiration of their own: their deal's is the earliest of its offers').
    /// </summary>
    public static List<string> ExpireResults(DbConnection connection, long now)
    {
        var expired = new List<(string Id, string Kind)>();
        using (var command = connection.Sql(
            "UPDATE requests SET status = 'expired', results = NULL, updated_at = @now WHERE status = 'succeeded' AND expires_at IS NOT NULL AND expires_at <= @now RETURNING id, kind",
            ("@now", now)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                expired.Add((reader.GetString(0), reader.GetString(1)));
            }
        }
        foreach (var (deal, _) in expired.Where(e => e.Kind == "deal"))
        {
            connection.Execute(
                "UPDATE requests SET status = 'expired', results = NULL, updated_at = @now WHERE parent = @deal AND status = 'succeeded'",
                ("@now", now), ("@deal", deal));
        }
        return [.. expired.Select(e => e.Id)];
    }
}
