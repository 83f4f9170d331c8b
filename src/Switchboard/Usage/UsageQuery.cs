using System.Data.Common;
using System.Globalization;
using System.Text;
using Switchboard.Config;

namespace Switchboard.Usage;

/// <summary>What to total: rows from <paramref name="SinceMs"/> (the start of a minute) on, optionally for one resource, handler or user, optionally per minute.</summary>
public sealed record UsageFilter(long SinceMs, string? Resource = null, string? Handler = null, string? UserId = null, bool PerMinute = false);

/// <summary>Totals of one (resource, handler) group, or of one minute (or rolled-up day) of it. <see cref="Resource"/> is null for a handler without one.</summary>
public sealed record UsageRow(long? Minute, string? Resource, string Handler, long Calls, long IntegrationCredits, long UserCredits, long Errors, long LatencySumMs, long LatencyMaxMs)
{
    /// <summary>
    /// Per minute: the row is a whole rolled-up day (<see cref="Minute"/> is the day's start).
    /// Totals: part of them comes from rolled-up days.
    /// </summary>
    public bool Daily { get; init; }

    public double LatencyAvgMs => Calls == 0 ? 0 : Math.Round((double)LatencySumMs / Calls, 1);
}

/// <summary>Reads <c>usage_minutes</c> and <c>usage_days</c> for the <c>usage</c> command and <c>GET /admin/api/usage</c>.</summary>
public static class UsageQuery
{
    public const string DefaultSince = "24h";

    public const string SinceHelp = "a duration such as 30m, 1h, 24h or 7d";

    private const long MinuteMs = 60_000;

    /// <summary>
    /// A <c>since</c> duration (<c>30m</c>, <c>1h</c>, <c>7d</c>, seconds without a unit; see
    /// <see cref="ConfigValues.ParseDuration"/>) as the start of the minute that was that long
    /// before <paramref name="nowMs"/>: totals include that whole minute. Null when the text is
    /// not a duration or not above zero.
    /// </summary>
    public static long? SinceMs(string text, long nowMs)
    {
        if (ConfigValues.ParseDuration(text) is not { } d || d <= TimeSpan.Zero)
        {
            return null;
        }
        var since = Math.Max(0, nowMs - (long)Math.Min(d.TotalMilliseconds, nowMs));
        return since - (since % MinuteMs);
    }

    /// <summary>
    /// Totals from <c>usage_minutes</c> and from <c>usage_days</c> (the minutes retention rolled
    /// up, Retention/UsageRollup.cs) alike, so a roll-up changes no total. A rolled-up day counts
    /// whole when <see cref="UsageFilter.SinceMs"/> falls inside it (its minutes are gone):
    /// <see cref="Span"/> says from when the totals really count.
    /// </summary>
    public static List<UsageRow> Totals(DbConnection connection, UsageFilter filter)
    {
        var bucket = filter.PerMinute ? "bucket, daily, " : "";
        const string Columns = "resource, handler, user_id, calls, integration_credits, user_credits, errors, latency_sum_ms, latency_max_ms";
        var sql = new StringBuilder($"""
            SELECT {(filter.PerMinute ? "bucket" : "NULL")}, resource, handler,
                CAST(SUM(calls) AS BIGINT), CAST(SUM(integration_credits) AS BIGINT), CAST(SUM(user_credits) AS BIGINT),
                CAST(SUM(errors) AS BIGINT), CAST(SUM(latency_sum_ms) AS BIGINT), CAST(MAX(latency_max_ms) AS BIGINT), MAX(daily)
            FROM (
                SELECT minute AS bucket, 0 AS daily, {Columns} FROM usage_minutes WHERE minute >= @since
                UNION ALL
                SELECT day, 1, {Columns} FROM usage_days WHERE day >= @since_day) u
            WHERE 1 = 1
            """);
        var args = new List<(string, object?)> { ("@since", filter.SinceMs), ("@since_day", DayOf(filter.SinceMs)) };
        foreach (var (column, value) in new[] { ("resource", filter.Resource), ("handler", filter.Handler), ("user_id", filter.UserId) })
        {
            if (value is not null)
            {
                sql.Append(CultureInfo.InvariantCulture, $" AND {column} = @{column}");
                args.Add(($"@{column}", value));
            }
        }
        sql.Append(CultureInfo.InvariantCulture, $" GROUP BY {bucket}resource, handler ORDER BY {bucket}resource, handler");
        using var command = connection.Sql(sql.ToString(), [.. args]);
        using var reader = command.ExecuteReader();
        var rows = new List<UsageRow>();
        while (reader.Read())
        {
            var resource = reader.GetString(1);
            rows.Add(new UsageRow(
                reader.IsDBNull(0) ? null : Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture),
                resource.Length == 0 ? null : resource,
                reader.GetString(2),
                Long(reader, 3), Long(reader, 4), Long(reader, 5), Long(reader, 6), Long(reader, 7), Long(reader, 8))
            {
                Daily = Long(reader, 9) == 1,
            });
        }
        return rows;
    }

    /// <summary>
    /// What totals from <paramref name="sinceMs"/> cover: <c>Since</c>, the start of the day
    /// holding it when that day is rolled up (its minutes are gone, it counts whole); and
    /// <c>MinutesFrom</c>, the end of the last rolled-up day in the range (null: none is, every
    /// total is per minute from <c>Since</c>).
    /// </summary>
    public static (long Since, long? MinutesFrom) Span(DbConnection connection, long sinceMs)
    {
        using var command = connection.Sql("SELECT MIN(day), MAX(day) FROM usage_days WHERE day >= @since_day", ("@since_day", DayOf(sinceMs)));
        using var reader = command.ExecuteReader();
        if (!reader.Read() || reader.IsDBNull(0))
        {
            return (sinceMs, null);
        }
        var first = Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture);
        var last = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture);
        return (Math.Min(sinceMs, first), last + DayMs);
    }

    /// <summary>A day of <c>usage_days</c>: UTC, from its first millisecond.</summary>
    public const long DayMs = 86_400_000;

    /// <summary>The start of the UTC day holding <paramref name="ms"/>.</summary>
    public static long DayOf(long ms) => ms - (((ms % DayMs) + DayMs) % DayMs);

    private static long Long(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? 0 : Convert.ToInt64(reader.GetValue(ordinal), CultureInfo.InvariantCulture);

    /// <summary>
    /// One row as the CLI prints it and the admin API returns it: <c>minute</c> only per minute
    /// (<c>day</c> instead for a rolled-up day), <c>user</c> only when filtered by user,
    /// <c>granularity: "day"</c> on totals that include rolled-up days.
    /// </summary>
    public static JsonObject ToJson(UsageRow row, string? user)
    {
        var json = new JsonObject();
        if (row.Minute is { } minute)
        {
            json[row.Daily ? "day" : "minute"] = Clock.Iso(minute);
        }
        json["resource"] = row.Resource;
        json["handler"] = row.Handler;
        if (user is not null)
        {
            json["user"] = user;
        }
        json["calls"] = row.Calls;
        json["integration_credits"] = row.IntegrationCredits;
        json["user_credits"] = row.UserCredits;
        json["errors"] = row.Errors;
        json["latency_avg_ms"] = row.LatencyAvgMs;
        json["latency_max_ms"] = row.LatencyMaxMs;
        if (row.Daily && row.Minute is null)
        {
            json["granularity"] = "day";
        }
        return json;
    }
}
