namespace Switchboard.Live;

/// <summary>What kind of change a <see cref="RequestChange"/> announces.</summary>
public enum ChangeKind
{
    /// <summary>The request's row (or, for a deal, one of its steps) changed status: read it again.</summary>
    Status,

    /// <summary>The running attempt stored new progress on the row: read it again.</summary>
    Progress,

    /// <summary>A piece of output the running handler streamed (<see cref="RequestChange.Text"/>); never stored, best-effort.</summary>
    Partial,

    /// <summary>
    /// The request's final transition wrote webhook events (the outbox): delivery workers in every
    /// process may look for them now rather than at their next poll. Followers ignore it.
    /// </summary>
    Outbox,
}

/// <summary>
/// One change of one request, as the change feed carries it between processes and the
/// <see cref="ChangeHub"/> hands it to the channels following the request. A status or progress
/// change carries no data: its followers read the committed row, so a change they coalesce or
/// miss is never a stale answer. A deal's step also announces a change of its deal.
/// </summary>
public readonly record struct RequestChange(string RequestId, ChangeKind Kind, string? Text = null)
{
    /// <summary>
    /// Longest piece of partial output one change carries, in characters: a handler's longer
    /// piece is sent as several changes (<c>Execution/HandlerHost</c>). Bounded so that a change
    /// always fits one PostgreSQL notification (8,000 bytes), whatever its characters escape to.
    /// </summary>
    public const int MaxPartialChars = 1024;
}
