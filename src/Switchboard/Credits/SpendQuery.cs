using System.Data.Common;
using System.Globalization;

namespace Switchboard.Credits;

/// <summary>
/// A period the spend is read over: from <see cref="FromMs"/> (the start of the first bucket) to
/// <see cref="ToMs"/> (now), in <see cref="Buckets"/> buckets of <see cref="BucketMs"/>, the last
/// being the current clock hour (24h) or UTC day (7d, 30d) so far.
/// </summary>
public sealed record SpendRange(string Name, long FromMs, long ToMs, long BucketMs, int Buckets)
{
    public const long HourMs = 3_600_000, DayMs = 86_400_000;

    public static readonly IReadOnlyList<string> Names = ["24h", "7d", "30d"];

    /// <summary>The range named <paramref name="name"/> ending at <paramref name="nowMs"/>; null for any other name.</summary>
    public static SpendRange? Of(string name, long nowMs) => name switch
    {
        "24h" => Ending(name, nowMs, HourMs, 24),
        "7d" => Ending(name, nowMs, DayMs, 7),
        "30d" => Ending(name, nowMs, DayMs, 30),
        _ => null,
    };

    private static SpendRange Ending(string name, long nowMs, long bucket, int count) =>
        new(name, nowMs - nowMs % bucket - (count - 1) * bucket, nowMs + 1, bucket, count);

    /// <summary>The start of bucket <paramref name="b"/>.</summary>
    public long Start(int b) => FromMs + b * BucketMs;
}

/// <summary>What one user or one offer spent over a range: credits charged minus refunded, and the requests charged.</summary>
public sealed record SpendRow(string Key, string Name, long Credits, long Requests);

/// <summary>The spend of a range: per bucket (the top users' and the rest), per user and per offer.</summary>
public sealed record SpendReport(
    SpendRange Range, long Total, IReadOnlyList<SpendRow> Users, long UserCount, IReadOnlyList<SpendRow> Offers, long OfferCount,
    IReadOnlyList<SpendRow> Top, long[][] Buckets);

/// <summary>
/// Credits spent, read from the ledger (the truth for credits: the usage tables count a
/// handler's calls, not what a user paid, and know no offer): charges minus refunds, each at its
/// own time, so a refund lowers the spend of the bucket it happened in. An offer is the
/// request's (<c>service/action</c>; a deal's is <c>deal/NAME</c>); a charge whose request row was
/// pruned counts as <see cref="Pruned"/>. Each query reads the range's ledger rows only, through
/// <c>ledger_created</c> (migration 21), groups them in the store and returns at most
/// <see cref="Limit"/> rows, or buckets × (<see cref="TopUsers"/> + 1) rows: the page's cost
/// follows the range's charges, never the whole ledger or the number of users.
/// </summary>
public static class SpendQuery
{
    public const int Limit = 50;

    /// <summary>The users the chart stacks one by one; the rest are stacked as one.</summary>
    public const int TopUsers = 5;

    public const string Pruned = "(request pruned)";

    private const string InRange = "l.created_at >= @from AND l.created_at < @to AND l.kind IN ('charge', 'refund')";

    // Spent is what left the balance: a charge's amount is negative, a refund's positive.
    private const string Spent = "CAST(-SUM(l.amount) AS BIGINT)";

    private const string Charged = "CAST(COUNT(DISTINCT CASE WHEN l.kind = 'charge' THEN l.request_seq END) AS BIGINT)";

    /// <summary>Per user: id, name, spent, requests charged, and how many users spent (before the limit).</summary>
    public static readonly string UsersSql = $"""
        SELECT l.user_id, COALESCE(MAX(u.name), l.user_id), {Spent}, {Charged}, COUNT(*) OVER ()
        FROM ledger l LEFT JOIN users u ON u.id = l.user_id
        WHERE {InRange}
        GROUP BY l.user_id ORDER BY 3 DESC, 2 LIMIT {Limit}
        """;

    /// <summary>Per offer: key ("" when pruned), name, spent, requests charged, and how many offers (before the limit).</summary>
    public static readonly string OffersSql = $"""
        SELECT COALESCE(r.service || '/' || r.action, ''), COALESCE(r.service || '/' || r.action, '{Pruned}'), {Spent}, {Charged}, COUNT(*) OVER ()
        FROM ledger l LEFT JOIN requests r ON r.seq = l.request_seq
        WHERE {InRange}
        GROUP BY r.service, r.action ORDER BY 3 DESC, 2 LIMIT {Limit}
        """;

    private static readonly string[] TopNames = [.. Enumerable.Range(0, TopUsers).Select(i => $"@u{i}")];

    /// <summary>Per bucket and user (one of the top users, or '' for everyone else): spent.</summary>
    public static readonly string BucketsSql = $"""
        SELECT (l.created_at - @from) / @bucket, CASE WHEN l.user_id IN ({string.Join(", ", TopNames)}) THEN l.user_id ELSE '' END, {Spent}
        FROM ledger l
        WHERE {InRange}
        GROUP BY 1, 2
        """;

    /// <summary>The arguments of <see cref="UsersSql"/> and <see cref="OffersSql"/>: the range.</summary>
    public static (string, object?)[] Args(SpendRange range) => [("@from", range.FromMs), ("@to", range.ToMs)];

    /// <summary>The arguments of <see cref="BucketsSql"/>: the range, its buckets, and the top users' ids ("" for none).</summary>
    public static (string, object?)[] BucketArgs(SpendRange range, IReadOnlyList<string> topIds) =>
        [.. Args(range), ("@bucket", range.BucketMs), .. TopNames.Select((n, i) => (n, (object?)(i < topIds.Count ? topIds[i] : "")))];

    public static SpendReport Read(DbConnection c, SpendRange range)
    {
        var args = Args(range);
        var (users, userCount) = Rows(c, UsersSql, args);
        var (offers, offerCount) = Rows(c, OffersSql, args);
        var top = users.Where(u => u.Credits > 0).Take(TopUsers).ToList();
        var buckets = Buckets(c, range, top);
        return new SpendReport(range, buckets.Sum(b => b.Sum()), users, userCount, offers, offerCount, top, buckets);
    }

    /// <summary>Rows of (key, name, credits, requests) and the count of all groups (the window's, before the limit).</summary>
    private static (List<SpendRow> Rows, long Count) Rows(DbConnection c, string sql, (string, object?)[] args)
    {
        using var command = c.Sql(sql, args);
        using var reader = command.ExecuteReader();
        var rows = new List<SpendRow>();
        long count = 0;
        while (reader.Read())
        {
            rows.Add(new SpendRow(reader.GetString(0), reader.GetString(1), Long(reader, 2), Long(reader, 3)));
            count = Long(reader, 4);
        }
        return (rows, count);
    }

    /// <summary>Per bucket: the spend of each of <paramref name="top"/> (in its order) and, last, of everyone else.</summary>
    private static long[][] Buckets(DbConnection c, SpendRange range, List<SpendRow> top)
    {
        using var command = c.Sql(BucketsSql, BucketArgs(range, [.. top.Select(t => t.Key)]));
        using var reader = command.ExecuteReader();
        long[][] buckets = [.. Enumerable.Range(0, range.Buckets).Select(_ => new long[top.Count + 1])];
        while (reader.Read())
        {
            var b = (int)Long(reader, 0);
            var user = reader.GetString(1);
            var i = top.FindIndex(t => t.Key == user);
            buckets[Math.Clamp(b, 0, range.Buckets - 1)][i < 0 ? top.Count : i] += Long(reader, 2);
        }
        return buckets;
    }

    private static long Long(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? 0 : Convert.ToInt64(reader.GetValue(ordinal), CultureInfo.InvariantCulture);
}
