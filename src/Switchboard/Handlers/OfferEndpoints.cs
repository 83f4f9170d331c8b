using System.Text.Json.Nodes;

namespace Switchboard.Handlers;

/// <summary>How an offer with several endpoint profiles spreads its calls over them.</summary>
public enum EndpointPolicy
{
    /// <summary>In order: the first whose breaker is closed; after a transient failure, the next.</summary>
    Fallback,

    /// <summary>Smooth weighted round-robin (nginx's), per process and endpoint list.</summary>
    Weighted,

    /// <summary>The endpoint whose resource has the most free slots; ties in order.</summary>
    LeastBusy,
}

/// <summary>One endpoint of an offer's list and its weight (1 unless the policy is weighted).</summary>
public sealed record OfferEndpoint(string Name, int Weight);

/// <summary>
/// An offer's <c>params.endpoints</c> and <c>params.endpoint_policy</c>:
/// <code>
/// params: {endpoints: [primary, backup], endpoint_policy: fallback}
/// params: {endpoints: [{name: big, weight: 3}, {name: small, weight: 1}], endpoint_policy: weighted}
/// </code>
/// An entry is a profile name (weight 1) or <c>{name, weight}</c>; weights are read only by
/// <c>weighted</c> (elsewhere a weight is refused: it would say something that does not happen).
/// The executor picks one per attempt and hands it to the handler as <c>params.endpoint</c>
/// (<see cref="ForHandler"/>), so handlers read one profile as before and never see the list.
/// </summary>
public sealed record OfferEndpoints(EndpointPolicy Policy, IReadOnlyList<OfferEndpoint> Endpoints)
{
    public const string ListParam = "endpoints";
    public const string PolicyParam = "endpoint_policy";

    /// <summary>At most this many endpoints per offer (a longer list is a config mistake, and each costs a breaker).</summary>
    public const int MaxEndpoints = 16;

    public const int MaxWeight = 1000;

    /// <summary>An offer's list and policy, or null when it names none (one profile: <c>params.endpoint</c>). Assumes <see cref="Check"/> passed.</summary>
    public static OfferEndpoints? Of(JsonObject parameters)
    {
        if (parameters[ListParam] is not JsonArray list)
        {
            return null;
        }
        var endpoints = list.Select(e => e switch
        {
            JsonObject o => new OfferEndpoint(o.GetString("name") ?? "", o["weight"] is JsonValue w && w.TryGetValue<int>(out var n) ? n : 1),
            _ => new OfferEndpoint(e?.GetValue<string>() ?? "", 1),
        }).ToList();
        return new OfferEndpoints(PolicyOf(parameters[PolicyParam]?.GetValue<string>()) ?? EndpointPolicy.Fallback, endpoints);
    }

    public bool Contains(string name) => Endpoints.Any(e => e.Name == name);

    /// <summary>The params a handler sees for one attempt: the list and policy removed, <c>endpoint</c> set to the one chosen.</summary>
    public static JsonObject ForHandler(JsonObject parameters, string endpoint)
    {
        var copy = (JsonObject)parameters.DeepClone();
        copy.Remove(ListParam);
        copy.Remove(PolicyParam);
        copy[EndpointProfiles.Param] = endpoint;
        return copy;
    }

    private static EndpointPolicy? PolicyOf(string? text) => text switch
    {
        "fallback" => EndpointPolicy.Fallback,
        "weighted" => EndpointPolicy.Weighted,
        "least-busy" => EndpointPolicy.LeastBusy,
        _ => null,
    };

    /// <summary>What is wrong with an offer's <c>endpoints</c> and <c>endpoint_policy</c>, as <c>(key, problem)</c> for <c>catalog apply</c>.</summary>
    public static IEnumerable<(string Key, string Problem)> Check(JsonObject parameters)
    {
        var policyNode = parameters[PolicyParam];
        EndpointPolicy? policy = EndpointPolicy.Fallback;
        if (policyNode is not null)
        {
            policy = policyNode is JsonValue pv && pv.TryGetValue<string>(out var text) ? PolicyOf(text) : null;
            if (policy is null)
            {
                yield return (PolicyParam, "must be fallback, weighted or least-busy");
            }
        }
        if (!parameters.ContainsKey(ListParam))
        {
            if (policyNode is not null)
            {
                yield return (PolicyParam, $"needs {ListParam}: a list of endpoint profile names");
            }
            yield break;
        }
        if (parameters.ContainsKey(EndpointProfiles.Param))
        {
            // Both would leave the handler's profile ambiguous.
            yield return (EndpointProfiles.Param, $"cannot be set together with {ListParam} (the executor sets it from the list)");
        }
        if (parameters[ListParam] is not JsonArray list || list.Count == 0 || list.Count > MaxEndpoints)
        {
            yield return (ListParam, $"must be a list of 1 to {MaxEndpoints} endpoint profile names (or {{name, weight}} mappings)");
            yield break;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            var at = $"{ListParam}[{i}]";
            string? name;
            switch (list[i])
            {
                case JsonValue v when v.TryGetValue<string>(out var s):
                    name = s;
                    break;
                case JsonObject o:
                    foreach (var key in o.Select(p => p.Key).Where(k => k is not ("name" or "weight")))
                    {
                        yield return (at, $"has unknown key '{key}' (expected name, weight)");
                    }
                    name = o["name"] is JsonValue nv && nv.TryGetValue<string>(out var n) ? n : null;
                    if (o["weight"] is { } weight)
                    {
                        if (!(weight is JsonValue wv && wv.TryGetValue<long>(out var w) && w is >= 1 and <= MaxWeight))
                        {
                            yield return ($"{at}.weight", $"must be a whole number from 1 to {MaxWeight}");
                        }
                        else if (policy is not EndpointPolicy.Weighted)
                        {
                            yield return ($"{at}.weight", "is read only by endpoint_policy: weighted");
                        }
                    }
                    break;
                default:
                    name = null;
                    break;
            }
            if (name is null)
            {
                yield return (at, "must be an endpoint profile name or {name, weight}");
            }
            else if (!EndpointProfiles.IsName(name))
            {
                yield return (at, "must be a profile name (a-z, 0-9, '-', '_')");
            }
            else if (!seen.Add(name))
            {
                yield return (at, $"names '{name}' twice");
            }
        }
    }
}
