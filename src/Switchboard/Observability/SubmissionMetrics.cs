using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.AspNetCore.Http.HttpResults;
using Prometheus;

namespace Switchboard.Observability;

/// <summary>
/// Counts a submission's answer in <see cref="SwitchboardMetrics.Submissions"/>. The target is
/// the catalog's name for what was asked for, or "unknown": a client-chosen string never becomes
/// a label value. The labelled children are cached (the key is built from catalog names only,
/// so the cache stays as small as the catalog), which keeps the count off the hot path's costs.
/// </summary>
public static class SubmissionMetrics
{
    public const string Unknown = "unknown";

    private readonly record struct Key(string Kind, string Service, string Action, string Outcome, string Code);

    private static readonly ConcurrentDictionary<Key, Counter.Child> Children = new();

    /// <summary>Counts the answer to an offer's submit; <paramref name="known"/>: the service and action are in the catalog.</summary>
    public static void Offer(bool known, string service, string action, IResult result) =>
        Count(known ? new Key("offer", service, action, "", "") : new Key("offer", Unknown, "", "", ""), result);

    /// <summary>Counts the answer to a deal's submit; <paramref name="known"/>: the deal is in the catalog.</summary>
    public static void Deal(bool known, string name, IResult result) =>
        Count(new Key("deal", known ? name : Unknown, "", "", ""), result);

    /// <summary>Counts a submission that threw (the store failed, or a bug) as the rejection its caller will see.</summary>
    public static void Threw(bool known, string kind, string target, Exception ex)
    {
        var key = new Key(kind, known ? target : Unknown, "", "rejected", ex is DbException ? "store_unavailable" : "internal_error");
        Children.GetOrAdd(key, Create).Inc();
    }

    private static void Count(Key target, IResult result)
    {
        var (outcome, code) = result switch
        {
            ProblemHttpResult problem => ("rejected", problem.ProblemDetails.Extensions.TryGetValue("code", out var c) && c is string s ? s : "http_" + problem.StatusCode),
            IStatusCodeHttpResult { StatusCode: 202 } => ("accepted", ""),
            IStatusCodeHttpResult { StatusCode: 200 } => ("duplicate", ""),
            IStatusCodeHttpResult other => ("rejected", "http_" + other.StatusCode),
            _ => ("rejected", "unknown"),
        };
        Children.GetOrAdd(target with { Outcome = outcome, Code = code }, Create).Inc();
    }

    private static Counter.Child Create(Key key) => SwitchboardMetrics.Submissions.WithLabels(
        key.Kind, key.Action.Length > 0 ? $"{key.Service}/{key.Action}" : key.Service, key.Outcome, key.Code);
}
