namespace Switchboard.Lifecycle;

/// <summary>
/// One row of <c>requests</c> changing status, as the change point hands it to consumers. Built
/// only when a consumer is attached to its target status, so an unobserved transition costs
/// nothing more than its statement.
/// </summary>
/// <param name="From">
/// The status the statement's guard found; null for a new row, or when the guard admits several
/// and the statement does not say which (a deal's cancel of its unfinished steps).
/// </param>
/// <param name="At">The transition's clock (ms), as written to <c>updated_at</c>.</param>
public readonly record struct Transition(string RequestId, int Run, string? From, string To, long At)
{
    /// <summary>Who pays for the run; set where the statement knows it without another read.</summary>
    public string? UserId { get; init; }

    /// <summary>The run's price (a step: its share of its deal's).</summary>
    public long Price { get; init; }

    /// <summary>A deal's step: its deal and its place; null for an offer's request or a deal's own row.</summary>
    public string? Deal { get; init; }

    public int? Step { get; init; }

    /// <summary>A failure's or a retry's error code and message.</summary>
    public string? Code { get; init; }

    public string? Message { get; init; }

    /// <summary>A success's results (JSON), for consumers that pass them on after the commit.</summary>
    public string? Results { get; init; }

    /// <summary>
    /// False when the statement saw that the request has no completion webhook to write (no
    /// one-off URL, no enabled endpoint of its user's); null when it did not look.
    /// </summary>
    public bool? Webhooks { get; init; }
}

/// <summary>
/// Runs inside a transition's unit of work, after its statement changed the row, on the same
/// connection and transaction (Hangfire's <c>IStateHandler</c>): what it writes commits with the
/// transition or not at all. Registered per kind of row and target status (<see cref="Kind"/>,
/// <see cref="State"/>; null for every one) as a singleton <see cref="IStateHandler"/>; a later
/// outbox writes its rows here.
/// </summary>
public interface IStateHandler
{
    /// <summary>A <see cref="RequestKind"/>, or null for every kind.</summary>
    string? Kind { get; }

    /// <summary>A <see cref="RequestStatus"/> entered, or null for every status.</summary>
    string? State { get; }

    /// <param name="unit">The unit: its connection, the lifecycle (for the transitions a handler makes in turn) and its after-commit work.</param>
    void Apply(LifecycleUnit unit, in Transition transition);
}

/// <summary>
/// Sees each committed transition once, after the commit, in the process that made it (pushed
/// status, metrics, logs). It must not block or throw: it runs on the caller's path.
/// Registered per target status like <see cref="IStateHandler"/>.
/// </summary>
public interface ITransitionObserver
{
    string? Kind { get; }

    string? State { get; }

    void Committed(in Transition transition);
}
