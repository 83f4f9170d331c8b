using System.Security.Cryptography;
using System.Text;
using Switchboard.Fairness;

namespace Switchboard.Lifecycle;

/// <summary>A validated, priced request about to be stored.</summary>
public sealed record NewRequest(
    string Id, string UserId, string Service, string Action, string Handler, string InputsJson, string Prompt,
    string ParamsJson, int CreateQty, int? Expiration, long Price, int MaxAttempts)
{
    /// <summary>The one-off completion webhook (<c>Switchboard-Webhook</c>), checked; null without one.</summary>
    public string? Webhook { get; init; }

    /// <summary>The submit's W3C <c>traceparent</c>, stored on the row for the executor's spans; null when not traced.</summary>
    public string? TraceParent { get; init; }

    /// <summary>The priority resolved at submit (<see cref="Priorities"/>).</summary>
    public int Priority { get; init; } = Priorities.Default;

    /// <summary>The prefix of the API key that bought it (its limits count it); null for an admin's retry of a request bought without one.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The key's limits (<see cref="Users.KeyCharges"/> checks concurrency and budget in the charge's unit); null: none.</summary>
    public Users.KeyLimits? Limits { get; init; }
}

public enum SubmitOutcome
{
    Created,
    Rerun,
    Existing,
}

public sealed record SubmitResult(SubmitOutcome Outcome, int Run, RequestRecord? Existing);

public enum CancelOutcome
{
    Cancelled,
    NotFound,
    AlreadyFinished,
}

/// <summary>A validated, priced deal request about to be stored: the deal's row and one row per step.</summary>
public sealed record NewDeal(
    string Id, string UserId, string Name, string InputsJson, string ParamsJson, int? Expiration, long Price, int MaxAttempts,
    IReadOnlyList<NewStep> Steps)
{
    /// <summary>The one-off completion webhook (<c>Switchboard-Webhook</c>), checked; null without one.</summary>
    public string? Webhook { get; init; }

    /// <summary>The submit's W3C <c>traceparent</c>, stored on the deal's row and its steps'; null when not traced.</summary>
    public string? TraceParent { get; init; }

    /// <summary>The priority resolved at submit, stored on the deal's row and its steps' (<see cref="Priorities"/>).</summary>
    public int Priority { get; init; } = Priorities.Default;

    /// <summary>The user's scheduling weight, carried by the steps' messages (not stored: the user's or plan's is read again when needed).</summary>
    public int Weight { get; init; } = 1;

    /// <summary>The prefix of the API key that bought it (stored on the deal's row, not its steps': a deal counts once); null for an admin's retry.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The key's limits, checked in the charge's unit as an offer's are; null: none.</summary>
    public Users.KeyLimits? Limits { get; init; }

    /// <summary>A step's id: derived from its deal's, so a re-run's steps keep their ids.</summary>
    public static string StepId(string dealId, int step)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"step\n{dealId}\n{step}"), digest);
        return Convert.ToHexStringLower(digest[..16]);
    }
}

/// <summary>
/// One step: an offer's snapshot like an offer request's (handler, params, quantity), its share
/// of the price, and its prompt: rendered when the step runs on the deal's inputs, the template
/// itself when it waits for data (rendered when it runs, see <see cref="IStepInputs"/>).
/// </summary>
public sealed record NewStep(int Step, string Service, string Action, string Handler, string Pipeline, string Prompt, string ParamsJson, int CreateQty, long Share);

/// <summary>What a worker needs to run a claimed request. <see cref="Parent"/> and <see cref="Step"/> are set on a deal's step.</summary>
public sealed record ClaimedJob(
    string RequestId, int Run, int Attempt, int MaxAttempts, string UserId, string Handler, string Prompt,
    string ParamsJson, int CreateQty, long Price, string? Parent = null, int? Step = null, string? Pipeline = null)
{
    /// <summary>An offer's request or a deal's step: a deal's own row is never claimed.</summary>
    public string Kind => Parent is null ? RequestKind.Offer : RequestKind.Step;

    /// <summary>The submit's stored <c>traceparent</c>: the executor's spans join that trace (Observability/TracingJobs.cs).</summary>
    public string? TraceParent { get; init; }

    /// <summary>The row's creation time (epoch ms): the start of the first attempt's queue wait.</summary>
    public long? QueuedAt { get; init; }

    /// <summary>The request's stored priority: a retry waits again at this level.</summary>
    public int Priority { get; init; } = Priorities.Default;

    /// <summary>The user's fair-queue weight at the claim (not stored on the row): a retry and a resource lane wait with it.</summary>
    public int Weight { get; init; } = 1;

    /// <summary>The message that sends this run again (a retry): same place in the fair order as the claimed one.</summary>
    public Queue.JobMessage Message => new(RequestId, Run, Handler, UserId, Priority, Weight);

    /// <summary>
    /// The row's <c>endpoint</c> at the claim: where the last attempt went, or where a fallback
    /// sends this one (Execution/Endpoints/EndpointChooser.cs); null on a run's first attempt.
    /// </summary>
    public string? PriorEndpoint { get; init; }

    /// <summary>The row's <c>usage</c> at the claim: the endpoints earlier attempts of this run tried, when its offer has several.</summary>
    public string? PriorUsage { get; init; }

    /// <summary>
    /// The endpoint profile this attempt calls, once chosen (before the resource gate): written
    /// to the row's <c>endpoint</c> with the attempt's outcome. Null for a handler that calls none.
    /// </summary>
    public string? Endpoint { get; set; }
}
