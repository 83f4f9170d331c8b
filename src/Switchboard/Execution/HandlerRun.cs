using System.Text.Json.Nodes;
using Switchboard.Config;
using Switchboard.Execution.Endpoints;
using Switchboard.Handlers;
using Switchboard.Lifecycle;
using Switchboard.Live;
using Switchboard.Observability;
using Switchboard.Resources;
using Switchboard.Usage;

namespace Switchboard.Execution;

/// <summary>How a handler's run ended, for <see cref="OutcomeRecorder"/> to classify.</summary>
/// <param name="ShuttingDown">Shutdown's grace period was over.</param>
/// <param name="Aborted">The job was stopped: cancelled, or its lease lost.</param>
/// <param name="Endpoints">The offer's endpoint list when it names several (a transient failure may then fall back).</param>
public sealed record RunEnd(HandlerContext Context, Exception? Failure, bool ShuttingDown, bool Aborted, bool TimedOut, TimeSpan Timeout, OfferEndpoints? Endpoints = null);

/// <summary>
/// Runs a ready job's handler under its timeout, the shutdown abort and its own stop; then frees
/// its resource slot and records the attempt's usage and metrics, whatever the outcome.
/// </summary>
/// <param name="logger">The JobRunner's: handlers log under the category operators filter on.</param>
public sealed class HandlerRun(
    Store store, AppConfigs configs, ResourceNeeds needs, ResourceSlots slots, UsageRecorder usage, UsageMetrics metrics,
    RequestLifecycle lifecycle, IChangePublisher publisher, ExecutorIdentity identity, EndpointBreakers breakers, ILogger<JobRunner> logger)
{
    public async Task<RunEnd> RunAsync(ClaimedJob job, ReadyJob ready, InFlightJob tracked, CancellationToken abort)
    {
        var input = ready.Input;
        var parameters = JsonNode.Parse(job.ParamsJson) as JsonObject ?? [];
        // Several endpoints: the handler sees the chosen one as params.endpoint, as if the offer named only it.
        var multi = ready.Endpoints is not null && job.Endpoint is not null;
        if (multi)
        {
            parameters = OfferEndpoints.ForHandler(parameters, job.Endpoint!);
        }
        var progress = new JobProgress(lifecycle, publisher, job, identity.Owner, logger);
        var context = new HandlerContext(
            job.RequestId, job.Attempt, input?.Prompt ?? job.Prompt, parameters, job.CreateQty, logger, configs.Handlers.For(job.Handler), input?.Input,
            configs.Api.MaxUpstreamBytes, new HandlerHost(store, job, progress, publisher));
        var timeout = TimeSpan.FromSeconds(ReadTimeout(parameters, configs.Api.JobTimeoutSeconds));
        using var timeoutCts = new CancellationTokenSource(timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(abort, tracked.Abort.Token, timeoutCts.Token);
        Exception? failure = null;
        var started = Environment.TickCount64;
        try
        {
            // No upstream call starts once this process's view of the lease has lapsed (InFlightJobs).
            tracked.ThrowIfLeaseLapsed();
            if (multi)
            {
                await breakers.ExecuteAsync(job.Handler, job.Endpoint!, ct => ready.Handler.ExecuteAsync(context, ct), timeoutCts.Token, linked.Token);
            }
            else
            {
                await ready.Handler.ExecuteAsync(context, linked.Token);
            }
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        finally
        {
            var ran = TimeSpan.FromMilliseconds(Environment.TickCount64 - started);
            // The last report is on the row before the outcome (which keeps it): one write at most.
            await progress.FlushAsync();
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
            // A call the breaker refused never reached the API: no integration credits.
            var refused = failure is HandlerException { Code: "endpoint_circuit_open" } && multi;
            var (resource, credits, earned) = (needs.ResourceOf(job.Handler, job.Endpoint), refused ? 0 : needs.CreditsOf(job.Handler, context.Usage), succeeded ? job.Price : 0);
            usage.Record(resource, job.Handler, job.UserId, credits, earned, !succeeded, ran);
            metrics.Record(resource, job.Handler, credits, earned, !succeeded, ran);
        }
        return new RunEnd(context, failure, abort.IsCancellationRequested, tracked.Abort.IsCancellationRequested, timeoutCts.IsCancellationRequested, timeout, ready.Endpoints);
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
}
