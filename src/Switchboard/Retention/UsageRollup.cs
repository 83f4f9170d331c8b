using System.Data.Common;
using Switchboard.Usage;

namespace Switchboard.Retention;

/// <summary>
/// Moves <c>usage_minutes</c> older than the retention into <c>usage_days</c> (migration 20), one
/// whole UTC day per writer unit, and deletes days older than theirs. A day's minutes are read
/// and deleted by the statement(s) of one unit that also adds them to the day, so a crash (or
/// kill -9) between two days leaves every call counted exactly once: a day is either still in
/// minutes or in the day's row. Minutes a late flush writes into a day already rolled up (an
/// executor's counts kept through a store outage) are rolled up by a later pass and added to it.
/// </summary>
public static class UsageRollup
{
    private const long DayMs = UsageQuery.DayMs;

    /// <summary>The start of the UTC day holding <paramref name="ms"/> (the key of <c>usage_days</c>).</summary>
    public static long DayOf(long ms) => UsageQuery.DayOf(ms);

    /// <summary>
    /// The oldest day whose minutes are all older than <paramref name="minutesBefore"/> and which
    /// still has minute rows; null when there is none. The key leads with the minute: one index read.
    /// </summary>
    public static long? OldestDayToRoll(DbConnection connection, long minutesBefore) =>
        connection.Scalar<long?>("SELECT MIN(minute) FROM usage_minutes") is { } oldest && DayOf(oldest) + DayMs <= DayOf(minutesBefore)
            ? DayOf(oldest)
            : null;

    /// <summary>In a writer unit: moves the minutes of the day starting at <paramref name="day"/> into its row(s) of <c>usage_days</c>. Returns the minute rows moved.</summary>
    public static int RollDay(DbConnection connection, StoreKind kind, long day)
    {
        (string, object?)[] args = [("@from", day), ("@to", day + DayMs)];
        if (kind == StoreKind.Postgres)
        {
            // One statement: only the rows this DELETE removed are added, so a flush that commits
            // between reading and deleting (PostgreSQL runs them concurrently) is never lost.
            return connection.Scalar<int>(
                $"""
                WITH moved AS (
                    DELETE FROM usage_minutes WHERE minute >= @from AND minute < @to
                    RETURNING resource, handler, user_id, calls, integration_credits, user_credits, errors, latency_sum_ms, latency_max_ms),
                added AS (
                    INSERT INTO usage_days (day, resource, handler, user_id, calls, integration_credits, user_credits, errors, latency_sum_ms, latency_max_ms)
                    SELECT CAST(@from AS bigint), resource, handler, user_id, SUM(calls), SUM(integration_credits), SUM(user_credits), SUM(errors), SUM(latency_sum_ms), MAX(latency_max_ms)
                    FROM moved GROUP BY resource, handler, user_id
                    {Upsert("GREATEST")})
                SELECT COUNT(*) FROM moved
                """, args);
        }
        // SQLite: the writer's transaction holds the database's write lock (BEGIN IMMEDIATE), so
        // no flush can commit between these two statements.
        connection.Execute(
            $"""
            INSERT INTO usage_days (day, resource, handler, user_id, calls, integration_credits, user_credits, errors, latency_sum_ms, latency_max_ms)
            SELECT @from, resource, handler, user_id, SUM(calls), SUM(integration_credits), SUM(user_credits), SUM(errors), SUM(latency_sum_ms), MAX(latency_max_ms)
            FROM usage_minutes WHERE minute >= @from AND minute < @to
            GROUP BY resource, handler, user_id
            {Upsert("max")}
            """, args);
        return connection.Execute("DELETE FROM usage_minutes WHERE minute >= @from AND minute < @to", args);
    }

    private static string Upsert(string max) => $"""
        ON CONFLICT (day, resource, handler, user_id) DO UPDATE SET
            calls = usage_days.calls + excluded.calls,
            integration_credits = usage_days.integration_credits + excluded.integration_credits,
            user_credits = usage_days.user_credits + excluded.user_credits,
            errors = usage_days.errors + excluded.errors,
            latency_sum_ms = usage_days.latency_sum_ms + excluded.latency_sum_ms,
            latency_max_ms = {max}(usage_days.latency_max_ms, excluded.latency_max_ms)
        """;

    /// <summary>In a writer unit: deletes the oldest day of <c>usage_days</c> when it starts before <paramref name="daysBefore"/>. Returns its rows deleted (0: none left to delete).</summary>
    public static int DeleteOldestDay(DbConnection connection, long daysBefore) =>
        connection.Execute(
            "DELETE FROM usage_days WHERE day = (SELECT MIN(day) FROM usage_days) AND day < @before",
            ("@before", DayOf(daysBefore)));
}
