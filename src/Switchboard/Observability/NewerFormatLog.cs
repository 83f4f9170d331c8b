namespace Switchboard.Observability;

/// <summary>
/// Says what this process left for a newer build (<see cref="Formats"/>): a warning once per kind
/// and format a period, with the first one left and how many since the last line, and
/// <c>switchboard_unreadable_total{kind, format}</c> for each. During a rolling upgrade an old
/// executor may meet the same entry again once per lease: a line each time would drown the log.
/// </summary>
public sealed class NewerFormatLog(ILogger logger, TimeSpan? period = null)
{
    /// <summary>A queue message (a Redis entry's <c>v</c>).</summary>
    public const string Message = "message";

    /// <summary>A request row (<c>requests.format</c>).</summary>
    public const string Request = "request";

    private readonly long _periodMs = (long)(period ?? TimeSpan.FromMinutes(1)).TotalMilliseconds;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Kind, string Format), (long LoggedAt, long Since)> _seen = [];

    /// <param name="format">The format found; a value that is no format at all counts as "invalid" (labels stay bounded).</param>
    /// <param name="what">Which one, for the log: the entry or the request.</param>
    public void Left(string kind, string? format, string what)
    {
        var label = int.TryParse(format, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is > 0 and < 1000
            ? n.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : "invalid";
        SwitchboardMetrics.Unreadable.WithLabels(kind, label).Inc();
        var now = Environment.TickCount64;
        long count;
        lock (_lock)
        {
            var found = _seen.TryGetValue((kind, label), out var seen);
            if (found && now - seen.LoggedAt < _periodMs)
            {
                _seen[(kind, label)] = seen with { Since = seen.Since + 1 };
                return;
            }
            count = found ? seen.Since + 1 : 1;
            _seen[(kind, label)] = (now, 0);
        }
        var readable = kind == Message ? Formats.Message : Formats.Request;
        logger.LogWarning(
            "Left {Kind} {What} of format {Format} for a newer build: this build reads formats up to {Readable} ({Count} left since the last such line)",
            kind, what, label, readable, count);
    }
}
