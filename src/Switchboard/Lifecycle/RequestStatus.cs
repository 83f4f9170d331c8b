namespace Switchboard.Lifecycle;

/// <summary>The values of <c>requests.status</c>; what moves a row between them is <see cref="RequestLifecycle"/>.</summary>
public static class RequestStatus
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string Expired = "expired";

    /// <summary>A deal's pipeline step whose predecessor has not finished yet: not claimable, not queued.</summary>
    public const string Waiting = "waiting";

    /// <summary>Every status, for tables kept per status (the change point's handlers).</summary>
    public static readonly IReadOnlyList<string> All = [Queued, Running, Succeeded, Failed, Cancelled, Expired, Waiting];
}

/// <summary>The values of <c>requests.kind</c>: a request for an offer, a deal, or one of a deal's steps.</summary>
public static class RequestKind
{
    public const string Offer = "offer";
    public const string Deal = "deal";
    public const string Step = "step";

    public static readonly IReadOnlyList<string> All = [Offer, Deal, Step];
}
