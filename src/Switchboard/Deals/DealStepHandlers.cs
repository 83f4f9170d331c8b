using Switchboard.Catalog;
using Switchboard.Credits;
using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Deals;

/// <summary>
/// A deal's step succeeded (inside its unit): the pipeline item after it may start (waiting →
/// queued) and the deal is settled. After the commit its results go to the job data store, then
/// the next step's message is sent, in that order, so the next step finds them.
/// </summary>
public sealed class StepSucceededHandler(StepOutputs outputs, IJobQueue queue) : IStateHandler
{
    public string? Kind => RequestKind.Step;

    public string? State => RequestStatus.Succeeded;

    public void Apply(LifecycleUnit unit, in Transition transition)
    {
        var (deal, run, id, results) = (transition.Deal!, transition.Run, transition.RequestId, transition.Results!);
        var next = unit.Lifecycle.QueueNextStep(unit, deal, run, transition.Step!.Value + 1, transition.At);
        unit.Lifecycle.SettleDeal(unit, deal, run, transition.At);
        unit.AfterCommit(async () =>
        {
            await outputs.SaveAsync(id, run, results);
            if (next is { } message)
            {
                await queue.EnqueueAsync(message, CancellationToken.None);
            }
        });
    }
}

/// <summary>
/// A deal's step failed (its row already says so; the executor's failure or recon's
/// worker_lost), inside its unit: refunds its share, cancels the pipeline items that wait for it,
/// transitively, refunding theirs, and settles the deal. Steps that do not depend on it go on.
/// Step rows first, then the payer's (refunds), then the deal's (the lifecycle's lock order).
/// </summary>
public sealed class StepFailedHandler : IStateHandler
{
    public string? Kind => RequestKind.Step;

    public string? State => RequestStatus.Failed;

    public void Apply(LifecycleUnit unit, in Transition transition)
    {
        var (deal, run, failedStep, code) = (transition.Deal!, transition.Run, transition.Step!.Value, transition.Code ?? "failed");
        var dependents = new List<(int Step, string Id)>();
        using (var command = unit.Connection.Sql(
            "SELECT step, id, pipeline FROM requests WHERE parent = @deal AND run = @run AND step > @step ORDER BY step",
            ("@deal", deal), ("@run", run), ("@step", failedStep)))
        using (var reader = command.ExecuteReader())
        {
            // A pipeline item depends on the item before it: the dependents are the unbroken
            // run of pipeline items right after this step.
            while (reader.Read() && reader.GetString(2) != Pipeline.None)
            {
                dependents.Add((reader.GetInt32(0), reader.GetString(1)));
            }
        }
        var refunds = new List<(int Step, long Share)> { (failedStep, transition.Price) };
        foreach (var (place, id) in dependents)
        {
            var message = $"step {failedStep} failed ({code}), and this step needs its output";
            if (unit.Lifecycle.CancelDependent(unit, deal, id, run, place, message, transition.At) is { } share)
            {
                refunds.Add((place, share));
            }
        }
        foreach (var (place, share) in refunds)
        {
            Charges.Refund(unit.Connection, transition.UserId!, deal, run, share, place == failedStep ? code : "dependency_failed", place);
        }
        unit.Lifecycle.SettleDeal(unit, deal, run, transition.At);
    }
}

public static class DealsLifecycle
{
    /// <summary>
    /// Deals' part of the request's lifecycle: its step handlers, and the job data store and
    /// step inputs the executor asks for. Every role adds it (the API cancels deals, the executor
    /// ends steps, recon fails a lost one).
    /// </summary>
    public static IServiceCollection AddDealSteps(this IServiceCollection services)
    {
        services.AddSingleton<IStateHandler>(sp => new StepSucceededHandler(sp.GetRequiredService<StepOutputs>(), sp.GetRequiredService<IJobQueue>()));
        services.AddSingleton<IStateHandler, StepFailedHandler>();
        services.AddSingleton(sp => new StepOutputs(
            sp.GetRequiredService<Store>(), sp.GetService<StackExchange.Redis.IConnectionMultiplexer>(), sp.GetService<RedisSettings>(),
            sp.GetRequiredService<ILogger<StepOutputs>>()));
        services.AddSingleton<StepInputs>();
        services.AddSingleton<IStepInputs>(sp => sp.GetRequiredService<StepInputs>());
        return services;
    }
}
