using System.Data.Common;
using StackExchange.Redis;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Deals;

/// <summary>
/// The job data store of deals: each step's results, stored once and read by reference by the
/// steps that take them as input (queue messages carry only ids). The store of record is the
/// step's own row (<c>requests.results</c>, written by its success); in the distributed
/// deployment a copy also goes to a Redis key with a TTL (<c>{p}:out:&lt;step id&gt;:&lt;run&gt;</c>),
/// so the next step's executor reads it from Redis and the database only when the key is gone
/// (expired, Redis restarted or unreachable).
/// </summary>
public sealed class StepOutputs(Store store, IConnectionMultiplexer? redis = null, RedisSettings? settings = null, ILogger<StepOutputs>? logger = null)
{
    /// <summary>How long the Redis copy lives: the next step normally starts within seconds; later it reads the database.</summary>
    public static readonly TimeSpan Ttl = TimeSpan.FromHours(1);

    private RedisKey Key(string stepId, int run) => settings!.Key($"out:{stepId}:{run}");

    /// <summary>After the step's success is committed: the Redis copy (nothing to do in the embedded deployment).</summary>
    public async Task SaveAsync(string stepId, int run, string resultsJson)
    {
        if (redis is null)
        {
            return;
        }
        try
        {
            await redis.GetDatabase().StringSetAsync(Key(stepId, run), resultsJson, Ttl);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The database has the results: the reader falls back to it.
            logger?.LogDebug("Step output {StepId} not copied to Redis: {Error}", stepId, ex.Message);
        }
    }

    /// <summary>
    /// The results of these steps (of one run), by step id: from Redis where a copy is, else from
    /// the database, through <paramref name="connection"/> when the caller has one open.
    /// </summary>
    public async Task<Dictionary<string, string>> LoadAsync(IReadOnlyList<string> stepIds, int run, DbConnection? connection = null)
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        if (redis is not null && stepIds.Count > 0)
        {
            try
            {
                var values = await redis.GetDatabase().StringGetAsync([.. stepIds.Select(id => Key(id, run))]);
                for (var i = 0; i < stepIds.Count; i++)
                {
                    if (values[i].HasValue)
                    {
                        found[stepIds[i]] = values[i].ToString();
                    }
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                logger?.LogDebug("Step outputs not read from Redis, reading the database: {Error}", ex.Message);
            }
        }
        var missing = stepIds.Where(id => !found.ContainsKey(id)).ToList();
        if (missing.Count > 0)
        {
            using var opened = connection is null ? store.Open() : null;
            foreach (var id in missing)
            {
                if (Read(connection ?? opened!, id, run) is { } results)
                {
                    found[id] = results;
                }
            }
        }
        return found;
    }

    private static string? Read(DbConnection connection, string stepId, int run) =>
        connection.Scalar<string>("SELECT results FROM requests WHERE id = @id AND run = @run AND status = 'succeeded'", ("@id", stepId), ("@run", run));
}
