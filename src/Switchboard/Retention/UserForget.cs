using System.Data.Common;
using Switchboard.Lifecycle;

namespace Switchboard.Retention;

/// <summary>A user's requests that are not finished: forgetting waits for them (or an operator's cancel).</summary>
public sealed class UnfinishedRequestsException(int count) : Exception($"the user has {count} request(s) not finished yet (queued, running, or a deal with a step still to run): cancel them or wait, then run it again")
{
    public int Count { get; } = count;
}

/// <summary>
/// Deletes one user's requests on request (<c>switchboard users forget</c>): every request of
/// theirs, with its steps, binary results (a blob another request lists stays) and webhook rows,
/// through the same <see cref="RequestPruning.Prune"/> as retention, whatever their age. Refused
/// while any of them is not final: a queued or running request would finish into a row that no
/// longer exists, and cancelling someone's paid work is the operator's call, not a side effect.
/// Kept: the ledger (the financial record, checked by the credits audit against
/// <c>requests_pruned</c>), the account and its keys (<c>users disable</c> stops them), and usage
/// rows (per-minute and per-day totals per user, holding no request or its content).
/// </summary>
public static class UserForget
{
    public static async Task<PruneCounts> ForgetAsync(Store store, string userId, long now)
    {
        List<string> ids;
        using (var connection = store.Open())
        {
            var unfinished = connection.Scalar<int>(
                $"""
                SELECT COUNT(*) FROM requests r WHERE r.user_id = @user AND r.parent IS NULL AND (r.status NOT IN {RequestPruning.FinalSql}
                    OR EXISTS (SELECT 1 FROM requests s WHERE s.parent = r.id AND s.status NOT IN {RequestPruning.FinalSql}))
                """, ("@user", userId));
            if (unfinished > 0)
            {
                throw new UnfinishedRequestsException(unfinished);
            }
            ids = Ids(connection, userId);
        }
        var total = PruneCounts.None;
        foreach (var chunk in ids.Chunk(RetentionService.RequestsPerUnit))
        {
            var counts = await store.WriteAsync(c => chunk.Aggregate(PruneCounts.None,
                (sum, id) => RequestPruning.Prune(c, id, finishedBefore: null, RequestPruning.Forget, now) is { } one ? sum.Add(one) : sum));
            total = total.Add(counts);
        }
        RetentionService.Count(total);
        return total;
    }

    /// <summary>What the CLI prints and the admin API answers.</summary>
    public static JsonObject ToJson(string userName, PruneCounts counts) => new()
    {
        ["user"] = userName,
        ["requests"] = counts.Requests,
        ["steps"] = counts.Steps,
        ["blobs"] = counts.Blobs,
        ["webhook_events"] = counts.WebhookEvents,
        ["webhook_attempts"] = counts.WebhookAttempts,
    };

    private static List<string> Ids(DbConnection connection, string userId)
    {
        var ids = new List<string>();
        using var command = connection.Sql("SELECT id FROM requests WHERE user_id = @user AND parent IS NULL ORDER BY seq", ("@user", userId));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }
        return ids;
    }
}
