using Switchboard.Lifecycle;

namespace Switchboard.Webhooks;

/// <summary>
/// The events an endpoint subscribes to: a request's or a deal's final status. Stored as a bit
/// mask (<c>webhook_endpoints.event_mask</c>), so the outbox's insert matches them with one
/// bitwise test on both stores.
/// </summary>
public static class WebhookEvents
{
    public static readonly IReadOnlyList<string> All =
    [
        "request.succeeded", "request.failed", "request.cancelled", "request.expired",
        "deal.succeeded", "deal.failed", "deal.cancelled", "deal.expired",
    ];

    /// <summary>The final statuses that make an event.</summary>
    public static readonly IReadOnlyList<string> Statuses = [RequestStatus.Succeeded, RequestStatus.Failed, RequestStatus.Cancelled, RequestStatus.Expired];

    public static long Bit(string type) => All.IndexOf(type) is var i and >= 0 ? 1L << i : 0;

    /// <summary>The event of an offer's request (<c>request.</c>) or a deal (<c>deal.</c>) entering <paramref name="status"/>.</summary>
    public static string Of(string kind, string status) => $"{(kind == RequestKind.Deal ? "deal" : "request")}.{status}";

    public static long Mask(IEnumerable<string> types) => types.Aggregate(0L, (mask, type) => mask | Bit(type));

    public static List<string> Names(long mask) => [.. All.Where(t => (mask & Bit(t)) != 0)];

    private static int IndexOf(this IReadOnlyList<string> list, string value)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] == value)
            {
                return i;
            }
        }
        return -1;
    }
}
