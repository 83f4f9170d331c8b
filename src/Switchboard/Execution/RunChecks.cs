using Switchboard.Config;
using Switchboard.Handlers;
using Switchboard.Lifecycle;
using Switchboard.Resources;

namespace Switchboard.Execution;

/// <summary>A claimed job that passed its checks: its handler, and a pipeline step's input (null for any other job).</summary>
public sealed record ReadyJob(IServiceHandler Handler, StepInput? Input);

/// <summary>
/// What must hold before a claimed job's handler runs, in order: its handler is here and
/// installed, a pipeline step's input is in the store and within the caps, and its resource
/// slot is taken (or the job is given back and parked). A failed check ends the job here.
/// </summary>
public sealed class RunChecks(HandlerRegistry handlers, AppConfigs configs, IStepInputs stepInputs, ResourceNeeds needs, ResourceSlots slots, OutcomeRecorder outcomes)
{
    /// <summary>Null when the job ended here: failed (and refunded), or given back to wait for its resource.</summary>
    public async Task<ReadyJob?> CheckAsync(ClaimedJob job, InFlightJob tracked)
    {
        var handler = handlers.Find(job.Handler);
        if (handler is null)
        {
            await outcomes.FailAsync(job, "handler_unavailable", $"no handler '{job.Handler}' in this executor", null);
            return null;
        }
        if (!configs.Services.IsInstalled(job.Handler))
        {
            await outcomes.FailAsync(job, "handler_not_installed", $"the handler '{job.Handler}' is not installed (service_map config)", null);
            return null;
        }
        StepInput? input = null;
        if (job.Pipeline is { } mode && mode != Catalog.Pipeline.None && (input = await stepInputs.ResolveAsync(job)) is null)
        {
            await outcomes.FailAsync(job, "step_input_missing", "the results this step takes from the step before it are not in the store", null);
            return null;
        }
        if (input is not null && ResultCaps.InputTooLarge(input, configs.Api) is { } tooLarge)
        {
            await outcomes.FailAsync(job, tooLarge.Code, tooLarge.Message, null);
            return null;
        }
        var need = needs.For(job.Handler);
        // A message read back without its user (recon's, a queue that keeps only id:run) still
        // waits in its user's flow of the lane: the claim says whose it is.
        var message = tracked.Message.UserId is null ? tracked.Message with { UserId = job.UserId } : tracked.Message;
        if (need is not null && !await slots.AcquireOrParkAsync(need, message, giveBack: () => outcomes.ReleaseAsync(job)))
        {
            return null;
        }
        tracked.Resource = need;
        return new ReadyJob(handler, input);
    }
}
