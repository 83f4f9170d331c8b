namespace Switchboard.Admin.Panel.Components;

/// <summary>
/// Counts per clock hour (<see cref="HourlyRequestCounts.Hours"/> of them, oldest first, the last
/// being the current hour so far) as bars of a <c>BarChart</c>: each hour's average per minute,
/// the failed part on top (classes "ok" and "fail").
/// </summary>
public static class HourlyBars
{
    private const int Hours = HourlyRequestCounts.Hours;

    public static readonly IReadOnlyList<string> Classes = ["ok", "fail"];

    /// <summary>Minutes of hour <paramref name="h"/> so far: 60, or those of the current hour.</summary>
    public static double MinutesOf(int h, long nowMs) =>
        h < Hours - 1 ? 60 : Math.Max(1, (nowMs - HourlyRequestCounts.FirstHourStart(nowMs) - (Hours - 1) * 3_600_000L) / 60_000.0);

    /// <summary>The minutes all the hours cover so far.</summary>
    public static double Minutes(long nowMs) => Enumerable.Range(0, Hours).Sum(h => MinutesOf(h, nowMs));

    public static List<ChartBar> Of(long[] total, long[] failed, long nowMs, string what = "requests") =>
        [.. Enumerable.Range(0, Hours).Select(h =>
        {
            var minutes = MinutesOf(h, nowMs);
            var start = DateTimeOffset.FromUnixTimeMilliseconds(HourlyRequestCounts.FirstHourStart(nowMs) + h * 3_600_000L);
            return new ChartBar($"{start:HH:mm}", $"{start:HH:mm} UTC: {total[h]} {what} ({total[h] / minutes:0.##}/min), {failed[h]} failed",
                [(total[h] - failed[h]) / minutes, failed[h] / minutes]);
        })];
}
