using Switchboard.Storage;
using Switchboard.Usage;

namespace Switchboard.Admin.Panel.Components.Pages.Resources;

/// <summary>Calls and errors per clock hour over the last 24 (as the dashboard's) of each resource, from <c>usage_minutes</c>.</summary>
public static class ResourceCalls
{
    public static Dictionary<string, (long[] Calls, long[] Errors)> Hourly(Store store, long now)
    {
        var from = HourlyRequestCounts.FirstHourStart(now);
        var result = new Dictionary<string, (long[], long[])>(StringComparer.Ordinal);
        using var connection = store.Open();
        foreach (var row in UsageQuery.Totals(connection, new UsageFilter(from, PerMinute: true)))
        {
            if (row.Resource is null)
            {
                continue;
            }
            if (!result.TryGetValue(row.Resource, out var series))
            {
                result[row.Resource] = series = (new long[HourlyRequestCounts.Hours], new long[HourlyRequestCounts.Hours]);
            }
            var h = (int)Math.Clamp((row.Minute!.Value - from) / 3_600_000, 0, HourlyRequestCounts.Hours - 1);
            series.Item1[h] += row.Calls;
            series.Item2[h] += row.Errors;
        }
        return result;
    }

    /// <summary>A resource's limits in words.</summary>
    public static string Limits(Config.ResourceSpec s) => string.Join(" · ",
        s.MaxConcurrent is { } m ? $"{m} at once" : "no concurrency limit",
        s.Rpm is { } r ? $"{r} per minute" : "no rate limit",
        s.Credits is { } c ? $"{c} credits per {Period(s.Period)}" : "no credit budget",
        $"when exhausted: {s.OnExhausted.ToString().ToLowerInvariant()}");

    private static string Period(TimeSpan period) =>
        period.TotalDays >= 1 && period.TotalDays % 1 == 0 ? $"{period.TotalDays:0} d"
        : period.TotalHours >= 1 && period.TotalHours % 1 == 0 ? $"{period.TotalHours:0} h"
        : $"{period.TotalSeconds:0} s";
}
