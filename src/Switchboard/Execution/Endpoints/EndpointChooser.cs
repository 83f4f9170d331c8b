using System.Collections.Concurrent;
using Switchboard.Handlers;
using Switchboard.Lifecycle;
using Switchboard.Resources;

namespace Switchboard.Execution.Endpoints;

/// <summary>
/// Which endpoint profile an attempt of an offer with several endpoints calls, chosen before
/// the resource gate's acquire (the endpoint may name its own resource). The request row's
/// <c>endpoint</c> says where the last attempt went, or where a fallback sends the next one
/// (<see cref="NextAfter"/>); a re-claim keeps it while its breaker lets calls through, so a
/// job parked for its endpoint's resource and woken with capacity reserved there comes back
/// to the same endpoint. Otherwise the offer's policy decides, skipping open breakers.
/// </summary>
public sealed class EndpointChooser(EndpointBreakers breakers, ResourceNeeds needs, IResourceGate gate)
{
    /// <summary>
    /// One rotation per (handler, endpoint list) per process: "per offer", as offers with the same
    /// handler and list share their endpoints anyway. Static: every host this process runs (a test
    /// process runs several) turns the same rotation, so the weights hold for the process as a whole.
    /// </summary>
    private static readonly ConcurrentDictionary<string, SmoothWeightedRoundRobin> Rotations = new(StringComparer.Ordinal);

    public async ValueTask<string> ChooseAsync(ClaimedJob job, OfferEndpoints offer)
    {
        var list = offer.Endpoints;
        if (job.PriorEndpoint is { } prior && offer.Contains(prior) && !breakers.IsOpen(job.Handler, prior))
        {
            return prior;
        }
        bool Usable(int i) => !breakers.IsOpen(job.Handler, list[i].Name);
        if (!Enumerable.Range(0, list.Count).Any(Usable))
        {
            // All refuse: the first's breaker turns the attempt into a transient failure, retried after the break.
            return list[0].Name;
        }
        switch (offer.Policy)
        {
            case EndpointPolicy.Weighted:
                var key = $"{job.Handler}\n{string.Join('\n', list.Select(e => $"{e.Name}:{e.Weight}"))}";
                var rotation = Rotations.GetOrAdd(key, _ => new SmoothWeightedRoundRobin([.. list.Select(e => e.Weight)]));
                lock (rotation)
                {
                    return list[rotation.Next(Usable)].Name;
                }
            case EndpointPolicy.LeastBusy:
                string? chosen = null;
                var most = long.MinValue;
                foreach (var endpoint in list.Where((_, i) => Usable(i)))
                {
                    var free = await FreeSlots(job.Handler, endpoint.Name);
                    if (free > most)
                    {
                        (chosen, most) = (endpoint.Name, free);
                    }
                }
                return chosen!;
            default:
                return list[Enumerable.Range(0, list.Count).First(Usable)].Name;
        }
    }

    /// <summary>
    /// Where a fallback sends the next attempt after a transient failure at <paramref name="failed"/>:
    /// the next endpoint of the list after it (wrapping round) whose breaker lets calls through;
    /// null when there is none but <paramref name="failed"/> itself.
    /// </summary>
    public string? NextAfter(string handler, OfferEndpoints offer, string failed)
    {
        var list = offer.Endpoints;
        var at = list.ToList().FindIndex(e => e.Name == failed);
        for (var step = 1; step < list.Count; step++)
        {
            var candidate = list[(at + step + list.Count) % list.Count].Name;
            if (candidate != failed && !breakers.IsOpen(handler, candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>Free slots of the endpoint's resource as the gate sees it (all executors); an ungated or unlimited one has the most.</summary>
    private async ValueTask<long> FreeSlots(string handler, string endpoint)
    {
        if (needs.For(handler, endpoint) is not { Spec.MaxConcurrent: { } max } need)
        {
            return long.MaxValue;
        }
        var state = await gate.StateAsync(need.Spec);
        return max - state.InUse - state.Waiting;
    }
}
