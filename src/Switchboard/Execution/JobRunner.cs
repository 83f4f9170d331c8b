using Switchboard.Lifecycle;
using Switchboard.Observability;
using Switchboard.Queue;

namespace Switchboard.Execution;

/// <summary>
/// Runs one delivered message: claim → checks → handler (with timeout, heartbeat, cancel) →
/// write the outcome → ack, in that order. Each outcome write is conditional on the claim, so
/// whatever happens concurrently (cancel, recon takeover) at most one outcome lands; the
/// delivery is acked only once the outcome is written (or the message claimed nothing).
/// </summary>
public sealed class JobRunner(IJobQueue queue, JobClaims claims, RunChecks checks, HandlerRun handler, OutcomeRecorder outcomes, ILogger<JobRunner> logger)
{
    /// <param name="abort">Cancelled when shutdown's grace period is over: unfinished jobs are released.</param>
    public async Task RunAsync(JobDelivery delivery, CancellationToken abort)
    {
        // Before the claim statement is sent: the local lease counts the time the claim takes (InFlightJobs).
        var claimSentAt = Environment.TickCount64;
        var claimStartedAt = DateTime.UtcNow;
        var (job, leave) = await claims.ClaimAsync(delivery.Message);
        if (job is not null)
        {
            // The submit's trace goes on here: queue wait and claim written now (null when not traced).
            var trace = JobTrace.Claimed(job, claimStartedAt);
            if (job is { Run: 1, Attempt: 1, QueuedAt: { } queuedAt })
            {
                SwitchboardMetrics.QueueWait.WithLabels(job.Handler).Observe(Math.Max(0, new DateTimeOffset(claimStartedAt).ToUnixTimeMilliseconds() - queuedAt) / 1000.0);
            }
            using (logger.BeginScope(new Dictionary<string, object> { ["request_id"] = job.RequestId }))
            {
                // Debug: one line per claim and per end, with the owner, so a test (or an operator
                // chasing a double execution) can line up who ran what when.
                logger.LogDebug("Claimed {RequestId} run {Run} attempt {Attempt} of {Handler} as {Owner}", job.RequestId, job.Run, job.Attempt, job.Handler, claims.Owner);
                try
                {
                    await ExecuteClaimed(job, trace, delivery, claimSentAt, abort);
                }
                finally
                {
                    // Also when it threw (a store write that failed under load): its run here is over.
                    logger.LogDebug("Ended {RequestId} run {Run} attempt {Attempt} as {Owner}", job.RequestId, job.Run, job.Attempt, claims.Owner);
                }
            }
        }
        if (!leave)
        {
            await queue.AckAsync(delivery);
        }
        // Else the row is of a newer format than this build reads: the message stays un-acked
        // (and counted), for an executor of a newer build (the Redis queue reclaims it after the lease).
    }

    private async Task ExecuteClaimed(ClaimedJob job, JobTrace? trace, JobDelivery delivery, long claimSentAt, CancellationToken abort)
    {
        using var tracked = claims.Track(job, delivery, claimSentAt);
        try
        {
            if (await checks.CheckAsync(job, tracked) is { } ready)
            {
                RunEnd run;
                using (var execute = trace?.Start("execute"))
                {
                    run = await handler.RunAsync(job, ready, tracked, abort);
                    JobTrace.Ended(execute, run.Failure);
                }
                using (trace?.Start("outcome"))
                {
                    await outcomes.RecordAsync(job, run);
                }
            }
        }
        finally
        {
            claims.Untrack(tracked);
        }
    }
}

/// <summary>This process's name as a job owner: unique per start, readable in the store.</summary>
public sealed class ExecutorIdentity
{
    public string Owner { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
}

public static class JobRunnerRegistration
{
    /// <summary>The runner and the parts it is made of: claims, checks, the handler's run, the outcome.</summary>
    public static IServiceCollection AddJobRunner(this IServiceCollection services)
    {
        services.AddOptions<Endpoints.EndpointBreakerOptions>().BindConfiguration(Endpoints.EndpointBreakerOptions.Section)
            .Validate(o => o.Check() is null, "Switchboard:Breakers: see docs/configuration.md (FailureRatio, MinimumThroughput, SamplingDuration, BreakDuration)")
            .ValidateOnStart();
        services.AddSingleton<Endpoints.EndpointBreakers>();
        services.AddSingleton<Endpoints.EndpointChooser>();
        services.AddSingleton<JobClaims>();
        services.AddSingleton<OutcomeRecorder>();
        services.AddSingleton<RunChecks>();
        services.AddSingleton<HandlerRun>();
        services.AddSingleton<JobRunner>();
        return services;
    }
}
