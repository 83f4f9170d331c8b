using System.Data.Common;

namespace Switchboard.Users;

/// <summary>A key's limit refused a purchase inside the charge's unit: nothing of it is written.</summary>
/// <param name="Code"><c>key_concurrency</c> (429) or <c>key_budget_exhausted</c> (402).</param>
/// <param name="RetryAfterSeconds">For a 429: when to try again; for a budget, when its window ends (null: never, a <c>total</c> budget).</param>
public sealed class KeyLimitException(string code, int status, string detail, long? retryAfterSeconds, IDictionary<string, object?> extra)
    : Exception(detail)
{
    public string Code { get; } = code;

    public int Status { get; } = status;

    public long? RetryAfterSeconds { get; } = retryAfterSeconds;

    public IDictionary<string, object?> Extra { get; } = extra;

    /// <summary>The client's answer: the problem, with <c>Retry-After</c> when there is a time to give.</summary>
    public IResult ToProblem(HttpContext http)
    {
        if (RetryAfterSeconds is { } seconds)
        {
            http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        var title = Code == KeyCharges.BudgetCode ? "The API key's budget is spent" : "The API key has too many requests in progress";
        return Problems.Of(Status, Code, title, Message, Extra);
    }
}

/// <summary>
/// A key's concurrency and budget, checked and counted inside the unit that stores and charges a
/// purchase (offer or deal), so they hold across api processes: on PostgreSQL the key's row is
/// locked first (<c>FOR UPDATE</c>), so two processes buying with one key take turns; on SQLite
/// the single writer already serializes units. A refused purchase throws
/// <see cref="KeyLimitException"/>, which rolls the whole unit back (no request, no charge, no
/// spend). A refund gives the window's spend back in its own unit (<see cref="GiveBack"/>).
/// </summary>
public static class KeyCharges
{
    public const string ConcurrencyCode = "key_concurrency";
    public const string BudgetCode = "key_budget_exhausted";

    public const string Day = "day";
    public const string Month = "month";
    public const string Total = "total";

    public static readonly IReadOnlyList<string> Periods = [Day, Month, Total];

    /// <summary>Whether a key's limits (or a key's above it) need the charge's unit (the batched insert path skips such keys).</summary>
    public static bool Counts(KeyLimits? limits) =>
        limits is not null && (Own(limits) || limits.Ancestors.Any(a => Own(a.Limits)));

    private static bool Own(KeyLimits limits) => limits is { MaxConcurrent: not null } or { Budget: not null };

    /// <summary>
    /// Run after the purchase's row is written (queued or running) and before its charge: counts
    /// it against the concurrency and budget of the key and of every key above it (a parent's
    /// limits cover its children's purchases), adding <paramref name="price"/> to each budgeted
    /// key's window, or throws. <paramref name="postgres"/>: lock the keys' rows first, the buyer's
    /// then upward (every purchase locks in that order, so two never wait on each other in a cycle).
    /// </summary>
    public static void Enforce(DbConnection connection, bool postgres, string? prefix, KeyLimits? limits, long price, long now)
    {
        if (prefix is null || !Counts(limits))
        {
            return;
        }
        var keys = new List<(string Prefix, KeyLimits Limits)> { (prefix, limits!) };
        keys.AddRange(limits!.Ancestors.Select(a => (a.Prefix, a.Limits)));
        foreach (var (key, own) in keys.Where(k => Own(k.Limits)))
        {
            if (postgres)
            {
                // Serializes this key's purchases across api processes until the unit commits; the
                // count below then sees every committed one (READ COMMITTED reads afresh per statement).
                connection.Execute("SELECT 1 FROM api_keys WHERE prefix = @k FOR UPDATE", ("@k", key));
            }
            if (own.MaxConcurrent is { } max)
            {
                CheckConcurrency(connection, key, max);
            }
            if (own.Budget is { } budget && price > 0)
            {
                Spend(connection, key, budget, own.BudgetPeriod ?? Total, price, now);
            }
        }
    }

    private static void CheckConcurrency(DbConnection connection, string key, int max)
    {
        // This purchase's own row is already written: it counts. So do the key's children's.
        var live = connection.Scalar<long>(
            """
            WITH RECURSIVE family(prefix, depth) AS (
                SELECT CAST(@k AS TEXT), 0
                UNION ALL
                SELECT k.prefix, f.depth + 1 FROM api_keys k JOIN family f ON k.parent = f.prefix WHERE f.depth < 32)
            SELECT COUNT(*) FROM requests WHERE api_key IN (SELECT prefix FROM family) AND status IN ('queued', 'running')
            """,
            ("@k", key));
        if (live > max)
        {
            throw new KeyLimitException(ConcurrencyCode, 429,
                $"API key {key} may have {max} requests queued or running at once; wait for one to finish.", 1,
                new Dictionary<string, object?> { ["key"] = key, ["max_concurrent"] = max });
        }
    }

    private static void Spend(DbConnection connection, string key, long budget, string period, long price, long now)
    {
        var window = WindowStart(period, now);
        // Conditional upsert: the row only grows while it stays within the budget.
        var added = price <= budget && connection.Execute(
            """
            INSERT INTO api_key_spend (prefix, window_start, spent) VALUES (@k, @w, @p)
            ON CONFLICT (prefix, window_start) DO UPDATE SET spent = api_key_spend.spent + @p
            WHERE api_key_spend.spent + @p <= @b
            """,
            ("@k", key), ("@w", window), ("@p", price), ("@b", budget)) == 1;
        if (added)
        {
            return;
        }
        var spent = connection.Scalar<long?>(
            "SELECT spent FROM api_key_spend WHERE prefix = @k AND window_start = @w", ("@k", key), ("@w", window)) ?? 0;
        long? resets = period == Total ? null : WindowEnd(period, window);
        throw new KeyLimitException(BudgetCode, 402,
            $"API key {key} may spend {budget} credits per {period}; {spent} are spent and the price is {price}.",
            resets is { } end ? Math.Max(1, (end - now + 999) / 1000) : null,
            new Dictionary<string, object?>
            {
                ["key"] = key, ["budget"] = budget, ["budget_period"] = period, ["spent"] = spent, ["price"] = price,
                ["resets_at"] = resets is { } at ? Clock.Iso(at) : null,
            });
    }

    /// <summary>
    /// A refund of <paramref name="price"/> for a request's run: when the key that bought it had a
    /// spend row, the window the charge fell in gets it back (never below zero). The window is the
    /// key's latest at or before the run's charge, so a refund in a later window still reaches the
    /// one it was spent in. One primary-key read when the request was bought without a key.
    /// </summary>
    public static void GiveBack(DbConnection connection, string requestId, int run, long price)
    {
        if (connection.Scalar<string?>("SELECT api_key FROM requests WHERE id = @r", ("@r", requestId)) is null)
        {
            return;
        }
        // The buyer and every key above it: each budgeted one was charged in Enforce.
        connection.Execute(
            """
            WITH RECURSIVE chain(prefix, depth) AS (
                SELECT api_key, 0 FROM requests WHERE id = @r
                UNION ALL
                SELECT k.parent, c.depth + 1 FROM api_keys k JOIN chain c ON k.prefix = c.prefix WHERE k.parent IS NOT NULL AND c.depth < 32)
            UPDATE api_key_spend SET spent = CASE WHEN spent > @p THEN spent - @p ELSE 0 END
            WHERE prefix IN (SELECT prefix FROM chain) AND window_start = (
                SELECT MAX(s.window_start) FROM api_key_spend s
                WHERE s.prefix = api_key_spend.prefix AND s.window_start <= (
                    SELECT MAX(l.created_at) FROM ledger l
                    WHERE l.request_seq = (SELECT seq FROM requests WHERE id = @r) AND l.run = @run AND l.kind = 'charge'))
            """,
            ("@p", price), ("@r", requestId), ("@run", run));
    }

    /// <summary>The UTC window a moment falls in: its day's or month's start, or 0 for a <c>total</c> budget.</summary>
    public static long WindowStart(string period, long nowMs)
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(nowMs);
        return period switch
        {
            Day => new DateTimeOffset(at.Year, at.Month, at.Day, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(),
            Month => new DateTimeOffset(at.Year, at.Month, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(),
            _ => 0,
        };
    }

    private static long WindowEnd(string period, long start)
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(start);
        return (period == Day ? at.AddDays(1) : at.AddMonths(1)).ToUnixTimeMilliseconds();
    }

    /// <summary>What a key spent in its current window (0 without a budget or spend).</summary>
    public static long Spent(DbConnection connection, string prefix, string? period, long now) =>
        connection.Scalar<long?>(
            "SELECT spent FROM api_key_spend WHERE prefix = @k AND window_start = @w",
            ("@k", prefix), ("@w", WindowStart(period ?? Total, now))) ?? 0;
}
