using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Execution.Endpoints;
using Switchboard.Handlers;
using Switchboard.Lifecycle;
using Switchboard.Observability;
using Switchboard.Queue;
using Switchboard.Blobs;
using Switchboard.Storage;

namespace Switchboard.Execution;

/// <summary>
/// How a claim ends: a handler's run classified (succeeded, failed, retried, released on
/// shutdown, stopped) and written as the lifecycle's transition, each conditional on the claim;
/// counted once in switchboard_requests_processed_total by how it ended.
/// </summary>
/// <param name="logger">The JobRunner's: these lines keep the category operators filter on.</param>
public sealed class OutcomeRecorder(
    RequestLifecycle lifecycle, IJobQueue queue, ExecutorIdentity identity, AppConfigs configs, IOptions<SwitchboardOptions> options, EndpointChooser endpoints,
    ILogger<JobRunner> logger)
{
    // Outcomes of switchboard_requests_processed_total: how a claim ended, once per claim.
    private const string Succeeded = "succeeded", Failed = "failed", Retried = "retried", Cancelled = "cancelled", Released = "released";

    public Task<bool> FailAsync(ClaimedJob job, string code, string message, string? usage) =>
        Reported(job, lifecycle.FailAsync(job, identity.Owner, code, message, usage), Failed);

    /// <summary>Gives the claim back (queued, the attempt not counted).</summary>
    public Task<bool> ReleaseAsync(ClaimedJob job) => Reported(job, lifecycle.ReleaseAsync(job, identity.Owner), Released);

    public async Task RecordAsync(ClaimedJob job, RunEnd run)
    {
        var (context, failure, timedOut) = (run.Context, run.Failure, run.TimedOut);
        var usage = context.Usage.Count > 0 ? context.Usage.ToJsonString() : null;
        var multi = run.Endpoints is not null && job.Endpoint is not null;
        if (multi && failure is null)
        {
            usage = EndpointTrail.With(job, context.Usage, null).ToJsonString();
        }
        if (failure is null)
        {
            if (context.Results.Count != job.CreateQty)
            {
                await FailAsync(job, "handler_result_count", $"the handler produced {context.Results.Count} results, {job.CreateQty} were ordered", usage);
                return;
            }
            // A binary result is read through the request its owner sees: a step's deal, or itself.
            var binaries = context.Binaries;
            var root = job.Parent ?? job.RequestId;
            var results = (binaries.Count == 0 ? new JsonArray([.. context.Results.Select(r => r.DeepClone())]) : BinaryListing.WithUrls(context.Results, binaries, root))
                .ToJsonString();
            if ((ResultCaps.ResultsTooLarge(context.Results, results, binaries, configs.Api) ?? BinaryListing.InvalidMediaType(binaries)) is { } refused)
            {
                // Nothing of it is stored: the request fails whole and is refunded.
                await FailAsync(job, refused.Code, refused.Message, usage);
                return;
            }
            // Binary results are stored (once per hash) and linked to this run in the success's
            // own unit: both commit, or neither.
            Action<System.Data.Common.DbConnection, long>? blobs = binaries.Count == 0
                ? null
                : (connection, now) => ResultBlobs.Save(connection, root, job.RequestId, job.Run, binaries, now);
            // A deal's step: its deal's handler starts the next step and settles the deal in the
            // same unit; its results and the next step's message go out after the commit.
            await Reported(job, lifecycle.SucceedAsync(job, identity.Owner, results, usage, blobs), Succeeded);
            return;
        }
        if (failure is OperationCanceledException && run.Aborted && !timedOut)
        {
            // Cancelled by the client, or the lease went to someone else: the store already says what happened.
            Processed(job, Cancelled);
            logger.LogInformation("Job stopped: cancelled or lease lost");
            return;
        }
        if (failure is OperationCanceledException && run.ShuttingDown && !timedOut)
        {
            await ReleaseAsync(job);
            logger.LogInformation("Job released on shutdown");
            return;
        }
        var classified = failure switch
        {
            HandlerException h => h,
            OperationCanceledException when timedOut => HandlerException.Retry("timeout", $"the handler did not finish within {run.Timeout.TotalSeconds:0.###} s"),
            _ => HandlerException.Permanent("handler_error", "the handler failed unexpectedly"),
        };
        if (failure is not HandlerException && !timedOut)
        {
            logger.LogError(failure, "Handler {Handler} threw", job.Handler);
        }
        if (multi)
        {
            usage = EndpointTrail.With(job, context.Usage.Count > 0 ? context.Usage : null, classified.Code).ToJsonString();
        }
        // An offer with n endpoints has at least n attempts: one per endpoint, whatever max_attempts says.
        var maxAttempts = multi ? Math.Max(job.MaxAttempts, run.Endpoints!.Endpoints.Count) : job.MaxAttempts;
        if (classified.Transient && job.Attempt < maxAttempts)
        {
            var delay = RetryPolicy.Delay(options.Value, job.Attempt, classified.RetryAfter);
            string? next = null;
            if (multi)
            {
                // A fallback: the next endpoint, at once when this run has not tried it yet (a
                // Retry-After is the failed endpoint's, not the next one's); one tried before waits the backoff.
                next = endpoints.NextAfter(job.Handler, run.Endpoints!, job.Endpoint!);
                if (next is not null && !EndpointTrail.Tried(job).Contains(next))
                {
                    delay = TimeSpan.Zero;
                }
            }
            var due = Clock.NowMs() + (long)delay.TotalMilliseconds;
            if (await Reported(job, lifecycle.RetryAsync(job, identity.Owner, classified.Code, classified.Message, due, next, multi ? usage : null), Retried))
            {
                SwitchboardMetrics.Retries.WithLabels(job.Handler).Inc();
                if (next is not null)
                {
                    SwitchboardMetrics.EndpointFallbacks.WithLabels(job.Handler, job.Endpoint!, next).Inc();
                    logger.LogInformation("Attempt {Attempt} at endpoint {Endpoint} failed ({Code}); the next goes to {Next}", job.Attempt, job.Endpoint, classified.Code, next);
                }
                logger.LogInformation("Attempt {Attempt} failed ({Code}); retrying in {Delay} ms", job.Attempt, classified.Code, (long)delay.TotalMilliseconds);
                // Timers count whole milliseconds of the monotonic clock and can fire up to one before
                // the wall clock reaches due: one more keeps the first claim from finding it not yet due.
                queue.EnqueueLater(job.Message, delay + TimeSpan.FromMilliseconds(1));
            }
            return;
        }
        await FailAsync(job, classified.Code, classified.Message, usage);
        logger.LogInformation("Request failed ({Code}) after {Attempt} attempt(s)", classified.Code, job.Attempt);
    }

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

    private static void Processed(ClaimedJob job, string outcome)
    {
        SwitchboardMetrics.RequestsProcessed.WithLabels(job.Handler, outcome).Inc();
        JobTrace.Outcome(outcome);
    }
}
