namespace Switchboard.Queue;

/// <summary>
/// The handlers some live executor serves, as this process last read the executors' heartbeats
/// (the api's <c>ExecutorReports</c> every 5 s, the leading recon every pass; in the embedded
/// mode, its own executor). The request object reads it to say a queued request is
/// <c>waiting_for: "executor"</c>; unknown (never read, or the registry unreadable) says nothing.
/// </summary>
public sealed class ExecutorCoverage
{
    private volatile IReadOnlyCollection<IReadOnlyList<string>>? _groups;

    /// <summary>Takes a fresh read: each live executor's handler ids.</summary>
    public void Update(IEnumerable<IReadOnlyList<string>> executorsHandlers) => _groups = [.. executorsHandlers];

    /// <summary>True or false once the registry was read; null before.</summary>
    public bool? Serves(string handler) => _groups is { } groups ? groups.Any(g => g.Contains(handler, StringComparer.Ordinal)) : null;
}
