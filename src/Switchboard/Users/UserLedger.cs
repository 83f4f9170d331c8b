using System.Data.Common;

namespace Switchboard.Users;

/// <summary>One ledger row with the user's balance right after it.</summary>
public sealed record LedgerLine(LedgerEntry Entry, long BalanceAfter);

/// <summary>Credits a user spent on one UTC day: charges less refunds.</summary>
public sealed record DaySpend(DateOnly Day, long Credits);

/// <summary>
/// A user's ledger as the panel pages through it and exports it, and what it spent per day. The
/// ledger is the truth of a balance: every move of <c>users.credits</c> writes its row in the same
/// unit (<see cref="CreditMoves"/>, <see cref="Credits.Charges"/>), so the balance after a row is
/// the balance now less the rows after it. Both come from one statement, so that a charge landing
/// between two reads cannot skew the column.
/// </summary>
public static class UserLedger
{
    private const long DayMs = 86_400_000;

    // Newest first; the window sums the rows newer than each one (none for the newest). The cast:
    // PostgreSQL's SUM of a bigint is a numeric.
    private const string Lines =
        """
        SELECT * FROM (
            SELECT l.id, l.kind, l.amount, l.request_id, l.run, l.note, l.created_at, l.actor,
                   CAST(u.credits - COALESCE(SUM(l.amount) OVER (ORDER BY l.id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS BIGINT) AS after
            FROM ledger l JOIN users u ON u.id = l.user_id
            WHERE l.user_id = @u) x
        WHERE x.id < @before
        ORDER BY x.id DESC
        LIMIT @l
        """;

    /// <summary>Up to <paramref name="limit"/> rows older than the row <paramref name="beforeId"/> (all when null), newest first.</summary>
    public static List<LedgerLine> Page(DbConnection connection, string userId, long? beforeId, int limit)
    {
        using var command = connection.Sql(Lines, ("@u", userId), ("@before", beforeId ?? long.MaxValue), ("@l", limit));
        using var reader = command.ExecuteReader();
        var list = new List<LedgerLine>();
        while (reader.Read())
        {
            list.Add(new LedgerLine(Entry(reader), reader.GetInt64(8)));
        }
        return list;
    }

    /// <summary>
    /// Up to <paramref name="limit"/> rows older than the row <paramref name="beforeId"/>, newest
    /// first, without their balance: the next page of an export that carries the balance from the
    /// row before (through <c>ledger_user</c>, not a window over the whole ledger per page).
    /// </summary>
    public static List<LedgerEntry> Older(DbConnection connection, string userId, long beforeId, int limit)
    {
        using var command = connection.Sql(
            """
            SELECT id, kind, amount, request_id, run, note, created_at, actor FROM ledger
            WHERE user_id = @u AND id < @before
            ORDER BY id DESC
            LIMIT @l
            """,
            ("@u", userId), ("@before", beforeId), ("@l", limit));
        using var reader = command.ExecuteReader();
        var list = new List<LedgerEntry>();
        while (reader.Read())
        {
            list.Add(Entry(reader));
        }
        return list;
    }

    private static LedgerEntry Entry(DbDataReader reader) =>
        new(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.StringOrNull(3), reader.IntOrNull(4),
            reader.StringOrNull(5), reader.GetInt64(6), reader.StringOrNull(7));

    /// <summary>
    /// The credits spent on each of the <paramref name="days"/> UTC days up to today (oldest first,
    /// every day present): charges less their refunds, by the day each row was written, so a
    /// refund the day after its charge lowers that later day.
    /// </summary>
    public static List<DaySpend> SpentPerDay(DbConnection connection, string userId, long nowMs, int days)
    {
        var today = nowMs / DayMs;
        var first = today - days + 1;
        using var command = connection.Sql(
            """
            SELECT created_at / 86400000 AS day, SUM(amount)
            FROM ledger
            WHERE user_id = @u AND kind IN ('charge', 'refund') AND created_at >= @since
            GROUP BY created_at / 86400000
            """,
            ("@u", userId), ("@since", first * DayMs));
        using var reader = command.ExecuteReader();
        var byDay = new Dictionary<long, long>();
        while (reader.Read())
        {
            byDay[Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)] = -Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture);
        }
        return [.. Enumerable.Range(0, days).Select(i => first + i).Select(d =>
            new DaySpend(DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(d * DayMs).UtcDateTime), byDay.GetValueOrDefault(d)))];
    }
}
