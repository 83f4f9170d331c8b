using System.Globalization;
using Switchboard.Credits;

namespace Switchboard.Admin.Panel.Components.Pages.Spend;

/// <summary>
/// The Spend page's chart of a <see cref="SpendReport"/>: a bar per hour (24h) or UTC day (7d, 30d), the
/// top users' spend stacked from the bottom (classes s0…s4) and everyone else's on top (s5). A bucket
/// whose refunds outweigh its charges draws nothing below zero; the tables say it.
/// </summary>
public static class SpendView
{
    public static readonly IReadOnlyList<string> Classes = ["s0", "s1", "s2", "s3", "s4", "s5"];

    public static List<ChartBar> Bars(SpendReport report) => [.. report.Buckets.Select((segments, b) =>
    {
        var start = DateTimeOffset.FromUnixTimeMilliseconds(report.Range.Start(b));
        var label = start.ToString(report.Range.BucketMs == SpendRange.HourMs ? "HH:mm" : "MM-dd", CultureInfo.InvariantCulture);
        var parts = segments.Select((v, i) => $"{(i < report.Top.Count ? report.Top[i].Name : "others")} {v}");
        var tooltip = $"{label} UTC: {segments.Sum()} credits ({string.Join(", ", parts)})";
        return new ChartBar(label, tooltip, [.. segments.Select(v => (double)Math.Max(0, v))]);
    })];

    /// <summary>The axis labels' spacing: about eight labels whatever the range.</summary>
    public static int LabelEvery(SpendReport report) => Math.Max(1, report.Range.Buckets / 8);

    /// <summary>A row's part of the range's total, as the table shows it.</summary>
    public static string Share(long credits, long total) =>
        total <= 0 ? "–" : (100.0 * credits / total).ToString("0.#", CultureInfo.InvariantCulture) + "%";

    public static string N(long n) => n.ToString(CultureInfo.InvariantCulture);
}
