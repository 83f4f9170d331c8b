using System.Text.Json.Nodes;
using Switchboard.Config;
using Switchboard.Execution.Endpoints;
using Switchboard.Handlers;
using Switchboard.Lifecycle;
using Switchboard.Resources;

namespace Switchboard.Execution;

/// <summary>
/// A claimed job that passed its checks: its handler, a pipeline step's input (null for any
/// other job), and the offer's endpoint list when it names several (the chosen one is <see cref="ClaimedJob.Endpoint"/>).
/// </summary>
public sealed record ReadyJob(IServiceHandler Handler, StepInput? Input, OfferEndpoints? Endpoints = null);

/// <summary>
/// What must hold before a claimed job's handler runs, in order: its handler is here and
/// installed, a pipeline step's input is in the store and within the caps, and its resource
/// slot is taken (or the job is given back and parked). A failed check ends the job here.
/// </summary>
public sealed class RunChecks(
    HandlerRegistry handlers, AppConfigs configs, IStepInputs stepInputs, ResourceNeeds needs, ResourceSlots slots, OutcomeRecorder outcomes, EndpointChooser endpoints)
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
        // The endpoint first: it may name its own resource, whose slot the call takes.
        var parameters = JsonNode.Parse(job.ParamsJson) as JsonObject ?? [];
        var offer = OfferEndpoints.Of(parameters);
        job.Endpoint = offer is null ? SingleProfile(handler, parameters) : await endpoints.ChooseAsync(job, offer);
        var need = needs.For(job.Handler, job.Endpoint);
        // The claim's message, not the delivered one: a message read back from Redis or recon's
        // (id:run) carries no user, priority or weight, and the lane orders by them.
        if (need is not null && !await slots.AcquireOrParkAsync(need, job.Message, giveBack: () => outcomes.ReleaseAsync(job)))
        {
            return null;
        }
        tracked.Resource = need;
        return new ReadyJob(handler, input, offer);
    }

    /// <summary>The one profile an offer without a list calls (recorded as the request's endpoint); null when the handler calls none or the name is malformed (the handler says so).</summary>
    private static string? SingleProfile(IServiceHandler handler, JsonObject parameters)
    {
        try
        {
            return handler.EndpointProfileFor(parameters) is { } name && EndpointProfiles.IsName(name) ? name : null;
        }
        catch (HandlerException)
        {
            return null;
        }
    }
}
