using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Deals;
using Switchboard.Handlers;
using Switchboard.Observability;
using Switchboard.Queue;
using Switchboard.Resources;
using Switchboard.Usage;
using Switchboard.Storage;

namespace Switchboard.Execution;

/// <summary>
/// Runs one delivered message: claim → handler (with timeout, heartbeat, cancel) → write the
/// outcome → ack, in that order. Each outcome write is conditional on the claim, so whatever
/// happens concurrently (cancel, recon takeover) at most one outcome lands.
/// </summary>
public sealed class JobRunner(
    Store store,
    IJobQueue queue,
    HandlerRegistry handlers,
    InFlightJobs inFlight,
    ExecutorIdentity identity,
    AppConfigs configs,
    ResourceNeeds needs,
    ResourceSlots slots,
    UsageRecorder usage,
    UsageMetrics metrics,
    StepInputs stepInputs,
    StepOutputs stepOutputs,
    IOptions<SwitchboardOptions> options,
    ILogger<JobRunner> logger)
{
    private readonly SwitchboardOptions _options = options.Value;

    /// <param name="abort">Cancelled when shutdown's grace period is over: unfinished jobs are released.</param>
    public async Task RunAsync(JobDelivery delivery, CancellationToken abort)
    {
        var message = delivery.Message;
        var claimSentAt = Environment.TickCount64;
        var now = Clock.NowMs();
        var job = await JobStore.ClaimAsync(store, message, identity.Owner, now + (_options.LeaseSeconds * 1000L), now);
        if (job is null)
        {
            // Duplicate, stale or cancelled: someone else owns what happens next. Only a message
            // that came early for a retry (timers and the wall clock drift apart) is kept, for later.
            var dueIn = await store.WriteStatementAsync(c => JobStore.DueIn(c, message, Clock.NowMs()));
            if (dueIn is { } wait)
            {
                queue.EnqueueLater(message, TimeSpan.FromMilliseconds(wait));
            }
            else
            {
                await slots.ForgetReservationAsync(message);
            }
            await queue.AckAsync(delivery);
            return;
        }
        using (logger.BeginScope(new Dictionary<string, object> { ["request_id"] = job.RequestId }))
        {
            // Debug: one line per claim and per end, with the owner, so a test (or an operator
            // chasing a double execution) can line up who ran what when.
            logger.LogDebug("Claimed {RequestId} run {Run} attempt {Attempt} as {Owner}", job.RequestId, job.Run, job.Attempt, identity.Owner);
            await ExecuteClaimed(job, delivery, claimSentAt, abort);
            logger.LogDebug("Ended {RequestId} run {Run} attempt {Attempt} as {Owner}", job.RequestId, job.Run, job.Attempt, identity.Owner);
        }
        await queue.AckAsync(delivery);
    }

    private async Task ExecuteClaimed(ClaimedJob job, JobDelivery delivery, long claimSentAt, CancellationToken abort)
    {
        using var tracked = new InFlightJob(job.RequestId, job.Run, job.Attempt, delivery);
        inFlight.Add(tracked, claimSentAt);
        try
        {
            var handler = handlers.Find(job.Handler);
            if (handler is null)
            {
                await Finish(job, c => JobStore.Fail(c, job, identity.Owner, "handler_unavailable", $"no handler '{job.Handler}' in this executor", null, Clock.NowMs()), Failed);
                return;
            }
            if (!configs.Services.IsInstalled(job.Handler))
            {
                await Finish(job, c => JobStore.Fail(c, job, identity.Owner, "handler_not_installed", $"the handler '{job.Handler}' is not installed (service_map config)", null, Clock.NowMs()), Failed);
                return;
            }
            StepInput? input = null;
            if (job.Pipeline is { } mode && mode != Catalog.Pipeline.None && (input = await stepInputs.ResolveAsync(job)) is null)
            {
                await Finish(job, c => JobStore.Fail(c, job, identity.Owner, "step_input_missing", "the results this step takes from the step before it are not in the store", null, Clock.NowMs()), Failed);
                return;
            }
            if (input is not null && ResultCaps.InputTooLarge(input, configs.Api) is { } tooLarge)
            {
                await Finish(job, c => JobStore.Fail(c, job, identity.Owner, tooLarge.Code, tooLarge.Message, null, Clock.NowMs()), Failed);
                return;
            }
            var need = needs.For(job.Handler);
            if (need is not null && !await slots.AcquireOrParkAsync(need, delivery.Message,
                    giveBack: () => Finish(job, c => JobStore.Release(c, job, identity.Owner, Clock.NowMs()), Released)))
            {
                return;
            }
            tracked.Resource = need;
            await Run(job, handler, tracked, input, abort);
        }
        finally
        {
            inFlight.Remove(tracked);
        }
    }

    /// <param name="input">A pipeline step's prompt and the data passed to it; null for any other job.</param>
    private async Task Run(ClaimedJob job, IServiceHandler handler, InFlightJob tracked, StepInput? input, CancellationToken abort)
    {
        var parameters = JsonNode.Parse(job.ParamsJson) as JsonObject ?? [];
        var context = new HandlerContext(
            job.RequestId, job.Attempt, input?.Prompt ?? job.Prompt, parameters, job.CreateQty, logger, configs.Handlers.For(job.Handler), input?.Input,
            configs.Api.MaxUpstreamBytes);
        var timeout = TimeSpan.FromSeconds(ReadTimeout(parameters, configs.Api.JobTimeoutSeconds));
        using var timeoutCts = new CancellationTokenSource(timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(abort, tracked.Abort.Token, timeoutCts.Token);
        Exception? failure = null;
        var started = Environment.TickCount64;
        try
        {
            // No upstream call starts once this process's view of the lease has lapsed (InFlightJobs).
            tracked.ThrowIfLeaseLapsed();
            await handler.ExecuteAsync(context, linked.Token);
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        finally
        {
            var ran = TimeSpan.FromMilliseconds(Environment.TickCount64 - started);
            SwitchboardMetrics.JobDuration.WithLabels(job.Handler).Observe(ran.TotalSeconds);
            // The slot stands for a call to the external API: it is free once the handler
            // returns, before the outcome is written.
            var need = tracked.Resource;
            if (need is not null)
            {
                tracked.Resource = null;
                await slots.ReleaseAsync(need, tracked.Message, ran);
            }
            // A failed call's integration credits count too: the API was called.
            var succeeded = failure is null && context.Results.Count == job.CreateQty;
            var (resource, credits, earned) = (needs.ResourceOf(job.Handler), needs.CreditsOf(job.Handler), succeeded ? job.Price : 0);
            usage.Record(resource, job.Handler, job.UserId, credits, earned, !succeeded, ran);
            metrics.Record(resource, job.Handler, credits, earned, !succeeded, ran);
        }
        await Record(job, context, failure, abort.IsCancellationRequested, tracked.Abort.IsCancellationRequested, timeoutCts.IsCancellationRequested, timeout);
    }

    /// <summary>The offer's <c>timeout_s</c>, else the <c>api</c> config's <c>job_timeout_s</c>.</summary>
    private static double ReadTimeout(JsonObject parameters, double fallback)
    {
        try
        {
            return parameters.GetDouble("timeout_s") is { } t && t > 0 ? t : fallback;
        }
        catch (HandlerException)
        {
            return fallback;
        }
    }

    private async Task Record(ClaimedJob job, HandlerContext context, Exception? failure, bool shuttingDown, bool aborted, bool timedOut, TimeSpan timeout)
    {
        var usage = context.Usage.Count > 0 ? context.Usage.ToJsonString() : null;
        var owner = identity.Owner;
        if (failure is null)
        {
            if (context.Results.Count != job.CreateQty)
            {
                await Finish(job, c => JobStore.Fail(c, job, owner, "handler_result_count", $"the handler produced {context.Results.Count} results, {job.CreateQty} were ordered", usage, Clock.NowMs()), Failed);
                return;
            }
            var results = new JsonArray([.. context.Results.Select(r => r.DeepClone())]).ToJsonString();
            if (ResultCaps.ResultsTooLarge(context.Results, results, configs.Api) is { } tooLarge)
            {
                // Nothing of it is stored: the request fails whole and is refunded.
                await Finish(job, c => JobStore.Fail(c, job, owner, tooLarge.Code, tooLarge.Message, usage, Clock.NowMs()), Failed);
                return;
            }
            if (job.Parent is not null)
            {
                await StepSucceeded(job, owner, results, usage);
                return;
            }
            await Reported(job, JobStore.SucceedAsync(store, job, owner, results, usage), Succeeded);
            return;
        }
        if (failure is OperationCanceledException && aborted && !timedOut)
        {
            // Cancelled by the client, or the lease went to someone else: the store already says what happened.
            Processed(job, Cancelled);
            logger.LogInformation("Job stopped: cancelled or lease lost");
            return;
        }
        if (failure is OperationCanceledException && shuttingDown && !timedOut)
        {
            await Finish(job, c => JobStore.Release(c, job, owner, Clock.NowMs()), Released);
            logger.LogInformation("Job released on shutdown");
            return;
        }
        var classified = failure switch
        {
            HandlerException h => h,
            OperationCanceledException when timedOut => HandlerException.Retry("timeout", $"the handler did not finish within {timeout.TotalSeconds:0.###} s"),
            _ => HandlerException.Permanent("handler_error", "the handler failed unexpectedly"),
        };
        if (failure is not HandlerException && !timedOut)
        {
            logger.LogError(failure, "Handler {Handler} threw", job.Handler);
        }
        if (classified.Transient && job.Attempt < job.MaxAttempts)
        {
            var delay = RetryPolicy.Delay(_options, job.Attempt, classified.RetryAfter);
            var due = Clock.NowMs() + (long)delay.TotalMilliseconds;
            if (await Finish(job, c => JobStore.Retry(c, job, owner, classified.Code, classified.Message, due, Clock.NowMs()), Retried, singleStatement: true))
            {
                SwitchboardMetrics.Retries.WithLabels(job.Handler).Inc();
                logger.LogInformation("Attempt {Attempt} failed ({Code}); retrying in {Delay} ms", job.Attempt, classified.Code, (long)delay.TotalMilliseconds);
                queue.EnqueueLater(new JobMessage(job.RequestId, job.Run), delay);
            }
            return;
        }
        await Finish(job, c => JobStore.Fail(c, job, owner, classified.Code, classified.Message, usage, Clock.NowMs()), Failed);
        logger.LogInformation("Request failed ({Code}) after {Attempt} attempt(s)", classified.Code, job.Attempt);
    }

    /// <summary>
    /// A deal's step: its success, the next step's start and the deal's status in one unit; then
    /// its results go to the job data store and the next step's message is sent, in that order,
    /// so the next step finds them.
    /// </summary>
    private async Task StepSucceeded(ClaimedJob job, string owner, string results, string? usage)
    {
        var (done, next) = await store.WriteAsync(c => DealSteps.Succeed(c, job, owner, results, usage, Clock.NowMs()));
        if (!await Reported(job, Task.FromResult(done), Succeeded))
        {
            return;
        }
        await stepOutputs.SaveAsync(job.RequestId, job.Run, results);
        if (next is { } message)
        {
            await queue.EnqueueAsync(message, CancellationToken.None);
        }
    }

    // Outcomes of switchboard_requests_processed_total: how a claim ended, once per claim.
    private const string Succeeded = "succeeded", Failed = "failed", Retried = "retried", Cancelled = "cancelled", Released = "released";

    private Task<bool> Finish(ClaimedJob job, Func<System.Data.Common.DbConnection, bool> write, string outcome, bool singleStatement = false) =>
        Reported(job, singleStatement ? store.WriteStatementAsync(write) : store.WriteAsync(write), outcome);

    /// <summary>Counts the claim's end: <paramref name="outcome"/> once written, else cancelled (the request changed hands).</summary>
    private async Task<bool> Reported(ClaimedJob job, Task<bool> write, string outcome)
    {
        var done = await write;
        Processed(job, done ? outcome : Cancelled);
        if (!done)
        {
            logger.LogWarning("Outcome of attempt {Attempt} not written: the request changed hands (cancelled, or taken over after a lost lease)", job.Attempt);
        }
        return done;
    }

    private static void Processed(ClaimedJob job, string outcome) => SwitchboardMetrics.RequestsProcessed.WithLabels(job.Handler, outcome).Inc();
}

/// <summary>This process's name as a job owner: unique per start, readable in the store.</summary>
public sealed class ExecutorIdentity
{
    public string Owner { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
}
