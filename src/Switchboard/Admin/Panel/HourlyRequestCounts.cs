using System.Data.Common;
using System.Globalization;
using Switchboard.Storage;

namespace Switchboard.Admin.Panel;

/// <summary>
/// The dashboard's requests and failures per clock hour over the last <see cref="Hours"/>
/// hours (by when each request was made). Counting them all on every load cost ≈ 0.8 µs per
/// request of the day (bench/README.md); so the counts of hours that have settled (ended at least
/// <see cref="Settle"/> ago, and none of their requests still queued, running or waiting) are
/// kept in this process, and each load counts only the hours after the first unsettled one:
/// usually the current hour and the one before. An hour with a request still unfinished is
/// counted again at every load until that request ends, so its outcome shows.
/// </summary>
public sealed class HourlyRequestCounts(Store store)
{
    /// <summary>The clock hours the dashboard and the resources page chart.</summary>
    public const int Hours = 24;

    private const long Hour = 3_600_000;
    public static readonly TimeSpan Settle = TimeSpan.FromHours(1);

    /// <summary>Counts by hour index (ms since the epoch ÷ one hour), for settled hours only.</summary>
    private readonly Dictionary<long, HourCounts> _settled = [];

    private readonly record struct HourCounts(long Total, long Failed, long Unfinished);
    private readonly Lock _lock = new();

    /// <summary>Requests per hour counted by SQL on the last load (for tests: what the cache spared).</summary>
    internal int HoursCountedLastLoad { get; private set; }

    /// <summary>The start of the first of the <see cref="Hours"/> clock hours that end with the current one.</summary>
    public static long FirstHourStart(long nowMs) => (nowMs / Hour - (Hours - 1)) * Hour;

    /// <summary>The counts of the last <see cref="Hours"/> clock hours, oldest first, the last being the current (partial) hour.</summary>
    public (long[] Total, long[] Failed) Last(long nowMs)
    {
        var first = nowMs / Hour - (Hours - 1);
        var current = nowMs / Hour;
        // Settled: the hour ended Settle ago or more.
        var lastSettled = (nowMs - (long)Settle.TotalMilliseconds) / Hour - 1;
        long from;
        lock (_lock)
        {
            foreach (var stale in _settled.Keys.Where(h => h < first).ToList())
            {
                _settled.Remove(stale);
            }
            from = first;
            while (from <= current && _settled.ContainsKey(from))
            {
                from++;
            }
        }
        var counted = Count(from * Hour);
        var total = new long[Hours];
        var failed = new long[Hours];
        lock (_lock)
        {
            for (var h = from; h <= lastSettled; h++)
            {
                var hour = counted.GetValueOrDefault(h);
                if (hour.Unfinished == 0)
                {
                    _settled[h] = hour;
                }
            }
            for (var h = first; h <= current; h++)
            {
                var hour = h < from ? _settled[h] : counted.GetValueOrDefault(h);
                total[h - first] = hour.Total;
                failed[h - first] = hour.Failed;
            }
        }
        HoursCountedLastLoad = (int)(current - from + 1);
        return (total, failed);
    }

    /// <summary>Requests, failures and unfinished requests per clock hour from <paramref name="fromMs"/> on (through <c>requests_created</c>; its plan is tested).</summary>
    internal const string HourlySql =
        """
        SELECT created_at / 3600000 AS h, COUNT(*), SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END),
            SUM(CASE WHEN status IN ('queued', 'running', 'waiting') THEN 1 ELSE 0 END)
        FROM requests WHERE created_at >= @from GROUP BY h
        """;

    private Dictionary<long, HourCounts> Count(long fromMs)
    {
        var counts = new Dictionary<long, HourCounts>();
        using var connection = store.Open();
        using var command = connection.Sql(HourlySql, ("@from", fromMs));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            counts[Long(reader, 0)] = new HourCounts(Long(reader, 1), Long(reader, 2), Long(reader, 3));
        }
        return counts;
    }

    // SUM and the hour are numeric on PostgreSQL, integers on SQLite.
    private static long Long(DbDataReader reader, int i) => Convert.ToInt64(reader.GetValue(i), CultureInfo.InvariantCulture);
}
