using Switchboard.Queue;

namespace Switchboard.Recon;

/// <summary>
/// <c>GET /admin/api/executors</c>: the executor groups (<c>--handlers</c>), each with its live
/// executors, the handlers it serves and its backlog; and the handlers with queued requests that
/// no live executor serves. Taken now by <see cref="HealthProbe"/>, like <c>/admin/api/health</c>.
/// <c>groups</c> and <c>unserved</c> are null when the executors' registry (Redis) cannot be read;
/// <c>queued_messages</c> (the queue's own count of undelivered messages) is null when the queue cannot be asked.
/// </summary>
public static class ExecutorGroupsEndpoint
{
    public static RouteGroupBuilder MapExecutorGroupsAdmin(this RouteGroupBuilder admin)
    {
        admin.MapGet("/executors", async (HealthProbe probe, IJobQueue queue) =>
        {
            var snapshot = await probe.TakeAsync();
            IReadOnlyDictionary<string, long>? depths;
            try
            {
                depths = await queue.DepthByHandlerAsync().AsTask().WaitAsync(HealthProbe.CheckTimeout);
            }
            catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
            {
                depths = null;
            }
            return TypedResults.Ok(ExecutorGroups.ToJson(snapshot, depths));
        })
            .WithName("get_executor_groups").WithTags("health").WithSummary("Executor groups: their executors, handlers and backlog")
            .Produces<JsonObject>(200);
        return admin;
    }
}
