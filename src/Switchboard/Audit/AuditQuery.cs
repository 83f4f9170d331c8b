using System.Globalization;
using Switchboard.Config;

namespace Switchboard.Audit;

/// <summary>The read filters as the admin API's query and the CLI's options give them, checked once for both.</summary>
public static class AuditQuery
{
    public const string TimeHelp = "an ISO 8601 time (2026-01-31T12:00:00Z) or a duration back from now (30m, 24h, 7d)";

    /// <summary>
    /// The filter from the given texts (each may be null), or the errors, each led by the
    /// parameter's name. Texts are compared exactly; times are ISO 8601 or durations ago.
    /// </summary>
    public static (AuditFilter? Filter, List<string> Errors) Parse(Func<string, string?> value, long nowMs)
    {
        var errors = new List<string>();
        long? Time(string name)
        {
            if (value(name) is not { } text)
            {
                return null;
            }
            if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) && text.Contains('-', StringComparison.Ordinal))
            {
                return at.ToUnixTimeMilliseconds();
            }
            if (ConfigValues.ParseDuration(text) is { } d && d > TimeSpan.Zero && d.TotalMilliseconds < nowMs)
            {
                return nowMs - (long)d.TotalMilliseconds;
            }
            errors.Add($"{name} must be {TimeHelp}");
            return null;
        }
        long? Whole(string name, long min, long max)
        {
            if (value(name) is not { } text)
            {
                return null;
            }
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max)
            {
                return n;
            }
            errors.Add($"{name} must be a whole number from {min} to {max}");
            return null;
        }
        var since = Time("since");
        var until = Time("until");
        var limit = Whole("limit", 1, AuditLog.MaxLimit);
        var before = Whole("before", 1, long.MaxValue);
        var filter = new AuditFilter(value("actor"), value("action"), value("target"), since, until, before, (int)(limit ?? AuditLog.DefaultLimit));
        return (errors.Count == 0 ? filter : null, errors);
    }
}
