namespace Switchboard.Queue;

/// <summary>
/// The handlers this executor serves: those of its own (built in or plugins) that its
/// <c>--handlers</c> patterns match. The queue reads their queues only; the heartbeat reports
/// both the patterns and the ids, so recon and the admin API know which jobs have an executor.
/// </summary>
public sealed class ServedHandlers
{
    private ServedHandlers(HandlerPatterns patterns, IReadOnlySet<string> ids)
    {
        Patterns = patterns;
        Ids = ids;
    }

    public HandlerPatterns Patterns { get; }

    /// <summary>Handler ids this process runs, in ordinal order.</summary>
    public IReadOnlySet<string> Ids { get; }

    /// <summary>
    /// The handlers of <paramref name="available"/> that <paramref name="patterns"/> match.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The patterns are malformed, or match none of the available handlers (an executor that
    /// would take nothing is a mistake, said at start with what it has).
    /// </exception>
    public static ServedHandlers For(string? patterns, IEnumerable<string> available)
    {
        var parsed = HandlerPatterns.Parse(patterns);
        var all = available.Order(StringComparer.Ordinal).ToList();
        var ids = new SortedSet<string>(all.Where(parsed.Matches), StringComparer.Ordinal);
        if (ids.Count == 0 && !parsed.IsAll)
        {
            throw new ArgumentException(
                $"--handlers '{parsed}' matches none of this executor's handlers ({string.Join(", ", all)}); a plugin's handler must be in its handlers folder");
        }
        return new ServedHandlers(parsed, ids);
    }
}
