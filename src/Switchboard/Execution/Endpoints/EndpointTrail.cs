using System.Text.Json.Nodes;
using Switchboard.Lifecycle;

namespace Switchboard.Execution.Endpoints;

/// <summary>
/// Each attempt's endpoint, for offers with several: kept in the request's <c>usage</c> JSON
/// (no table of its own: the row already holds one JSON value per run, written with each
/// outcome and reset by a new run), as
/// <code>
/// "endpoint": "backup",
/// "endpoint_attempts": [{"attempt": 1, "endpoint": "primary", "error": "upstream_error"}, {"attempt": 2, "endpoint": "backup"}]
/// </code>
/// The request object and the admin view show it with the usage. An attempt whose executor
/// died wrote no outcome, so it is not in the list (the attempt count still counts it).
/// </summary>
public static class EndpointTrail
{
    public const string Key = "endpoint_attempts";

    /// <summary>The run's attempts so far (from the row at the claim) and this one, merged into <paramref name="usage"/> (the handler's, or null).</summary>
    public static JsonObject With(ClaimedJob job, JsonObject? usage, string? error)
    {
        var merged = usage is null ? [] : (JsonObject)usage.DeepClone();
        var trail = Prior(job);
        var entry = new JsonObject { ["attempt"] = job.Attempt, ["endpoint"] = job.Endpoint };
        if (error is not null)
        {
            entry["error"] = error;
        }
        trail.Add(entry);
        merged["endpoint"] = job.Endpoint;
        merged[Key] = trail;
        return merged;
    }

    /// <summary>The endpoints earlier attempts of this run called.</summary>
    public static HashSet<string> Tried(ClaimedJob job) =>
        [.. Prior(job).Select(e => e?["endpoint"]?.GetValue<string>()).OfType<string>()];

    private static JsonArray Prior(ClaimedJob job)
    {
        try
        {
            return job.PriorUsage is { } text && JsonNode.Parse(text)?[Key] is JsonArray trail ? (JsonArray)trail.DeepClone() : [];
        }
        catch (System.Text.Json.JsonException)
        {
            return [];
        }
    }
}
