using System.Text.Json;
using Switchboard.Fairness;

namespace Switchboard.Handlers;

/// <summary>
/// The checks the built-in handlers' <see cref="IServiceHandler.CheckParams"/> share: each adds
/// <c>(key, problem)</c> for <c>catalog apply</c> to report with the offer's name.
/// </summary>
public static class ParamChecks
{
    /// <summary>
    /// Params every calling handler takes: the endpoint profile, the job's timeout (read by the
    /// executor) and its priority (read at submit; its value is checked by the catalog itself).
    /// </summary>
    public static readonly string[] Common = [EndpointProfiles.Param, "timeout_s", Priorities.Param];

    /// <summary>Unknown keys (a typo would otherwise be silently ignored), a malformed profile name, a bad timeout.</summary>
    public static List<(string Key, string Problem)> Start(JsonObject p, IReadOnlyCollection<string> known)
    {
        var problems = new List<(string, string)>();
        foreach (var key in p.Select(e => e.Key).Where(k => !known.Contains(k) && !EndpointProfiles.RemovedParams.Contains(k)))
        {
            problems.Add((key, $"is not a param of this handler (known: {string.Join(", ", known.Order(StringComparer.Ordinal))})"));
        }
        if (String(p, EndpointProfiles.Param, problems) is { } endpoint && !EndpointProfiles.IsName(endpoint))
        {
            problems.Add((EndpointProfiles.Param, "must be a profile name (a-z, 0-9, '-', '_')"));
        }
        Number(p, "timeout_s", double.Epsilon, double.MaxValue, problems);
        return problems;
    }

    public static string? String(JsonObject p, string key, List<(string, string)> problems)
    {
        switch (p[key])
        {
            case null:
                return null;
            case JsonValue v when v.TryGetValue<string>(out var s):
                return s;
            default:
                problems.Add((key, "must be a string"));
                return null;
        }
    }

    /// <summary>Whether a checked boolean param is set and true (absent is false).</summary>
    public static bool IsTrue(JsonObject p, string key) => p[key] is JsonValue v && v.TryGetValue<bool>(out var on) && on;

    /// <summary>A <c>true</c> or <c>false</c>; absent is null.</summary>
    public static bool? Boolean(JsonObject p, string key, List<(string, string)> problems)
    {
        switch (p[key])
        {
            case null:
                return null;
            case JsonValue v when v.TryGetValue<bool>(out var b):
                return b;
            default:
                problems.Add((key, "must be true or false"));
                return null;
        }
    }

    public static void RequiredString(JsonObject p, string key, List<(string, string)> problems)
    {
        if (p[key] is null)
        {
            problems.Add((key, "is required"));
        }
        else if (String(p, key, problems) is { Length: 0 })
        {
            problems.Add((key, "must not be empty"));
        }
    }

    public static void OneOf(JsonObject p, string key, IReadOnlyCollection<string> allowed, List<(string, string)> problems)
    {
        if (String(p, key, problems) is { } value && !allowed.Contains(value))
        {
            problems.Add((key, $"must be one of {string.Join(", ", allowed)}"));
        }
    }

    public static double? Number(JsonObject p, string key, double min, double max, List<(string, string)> problems)
    {
        switch (p[key])
        {
            case null:
                return null;
            case JsonValue v when AsDouble(v) is { } d:
                if (d < min || d > max)
                {
                    problems.Add((key, max == double.MaxValue ? $"must be greater than {(min == double.Epsilon ? 0 : min)}" : $"must be between {min} and {max}"));
                }
                return d;
            default:
                problems.Add((key, "must be a number"));
                return null;
        }
    }

    public static long? Integer(JsonObject p, string key, long min, long max, List<(string, string)> problems)
    {
        switch (p[key])
        {
            case null:
                return null;
            case JsonValue v when AsDouble(v) is { } d && d == Math.Floor(d):
                if (d < min || d > max)
                {
                    problems.Add((key, max == long.MaxValue ? $"must be at least {min}" : $"must be between {min} and {max}"));
                }
                return (long)d;
            default:
                problems.Add((key, "must be a whole number"));
                return null;
        }
    }

    /// <summary>A JSON number as a double, whichever CLR type holds it (YAML gives longs and doubles); else null.</summary>
    private static double? AsDouble(JsonValue v) =>
        v.GetValueKind() != JsonValueKind.Number ? null
        : v.TryGetValue<double>(out var d) ? d
        : v.TryGetValue<long>(out var l) ? l
        : v.TryGetValue<int>(out var i) ? i
        : v.TryGetValue<decimal>(out var m) ? (double)m
        : double.TryParse(v.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var parsed) ? parsed
        : null;

    /// <summary>A string or a list of at most <paramref name="max"/> strings (stop sequences).</summary>
    public static void Strings(JsonObject p, string key, int max, List<(string, string)> problems)
    {
        switch (p[key])
        {
            case null:
            case JsonValue v when v.TryGetValue<string>(out _):
                return;
            case JsonArray list when list.All(i => i is JsonValue s && s.TryGetValue<string>(out _)):
                if (list.Count > max)
                {
                    problems.Add((key, $"must have at most {max} entries"));
                }
                return;
            default:
                problems.Add((key, "must be a string or a list of strings"));
                return;
        }
    }
}
