using System.Collections.Concurrent;
using System.Text.Json;
using Switchboard.Fairness;

namespace Switchboard.Users;

/// <summary>
/// The caller of the client API: its user, the key it presented (<see cref="Key"/>, its prefix)
/// with that key's effective limits, and how its requests are scheduled. Every value is already
/// resolved: the key's own, else its user's, else the user's plan's, else the default.
/// </summary>
public sealed record AuthUser(string Id, string Name, bool IsAdmin)
{
    /// <summary>The presented key's prefix (<c>sb_xxxxxxxx</c>); null only for callers built in tests.</summary>
    public string? Key { get; init; }

    /// <summary>The user's plan, if it has one.</summary>
    public string? Plan { get; init; }

    public KeyLimits Limits { get; init; } = KeyLimits.None;

    /// <summary>Share of a resource's turns against other users of the same priority (weighted round-robin), ≥ 1.</summary>
    public int Weight { get; init; } = 1;

    /// <summary>The priority the user's requests get without a <c>Priority</c> header.</summary>
    public int Priority { get; init; } = Priorities.Default;

    /// <summary>The highest priority a <c>Priority</c> header may ask for.</summary>
    public int MaxPriority { get; init; } = Priorities.Default;
}

/// <summary>
/// What one API key may do beyond its user's balance: <see cref="Scopes"/> (offer and deal globs,
/// <c>service/action</c> or a deal's name; null: all), requests per minute, requests queued or
/// running at once, credits per budget period (<c>day</c>, <c>month</c>, <c>total</c>), and an
/// expiry (epoch ms). Null means unlimited.
/// </summary>
public sealed record KeyLimits(
    IReadOnlyList<string>? Scopes, int? Rpm, int? MaxConcurrent, long? Budget, string? BudgetPeriod, long? ExpiresAtMs)
{
    public static readonly KeyLimits None = new(null, null, null, null, null, null);

    public bool IsNone => this == None;

    /// <summary>
    /// The keys above this one (<c>/svc/me/keys</c> children): its parent, the parent's parent…,
    /// each with its resolved limits. A purchase must pass theirs too (scopes, rpm, concurrency and
    /// budget count the whole family), so a child can never spend more than the key that made it.
    /// </summary>
    public IReadOnlyList<KeyAncestor> Ancestors { get; init; } = NoAncestors;

    private static readonly KeyAncestor[] NoAncestors = [];
}

/// <summary>A key above another (<see cref="KeyLimits.Ancestors"/>): its prefix and resolved limits.</summary>
public sealed record KeyAncestor(string Prefix, KeyLimits Limits);

/// <summary>
/// Key hash → user, filled on first use. Cleared whenever the store's auth_version changes
/// (a key created or revoked, a user disabled, enabled or its admin rights changed anywhere), so a
/// revocation takes effect within one poll interval. A disabled user's keys do not authenticate.
/// Unknown keys are not cached: a guessing client costs one indexed lookup per try.
/// </summary>
public sealed class ApiKeyCache(Store store)
{
    private ConcurrentDictionary<string, AuthUser> _byHash = new(StringComparer.Ordinal);
    private CancellationTokenSource _changed = new();

    /// <summary>
    /// Cancelled at the next <see cref="Clear"/> (keys or users changed somewhere): long-lived
    /// channels wait on it to re-check their caller, instead of each waking on a timer.
    /// </summary>
    public CancellationToken Changed => Volatile.Read(ref _changed).Token;

    public void Clear()
    {
        _byHash = new ConcurrentDictionary<string, AuthUser>(StringComparer.Ordinal);
        Interlocked.Exchange(ref _changed, new CancellationTokenSource()).Cancel();
    }

    public AuthUser? Find(string key)
    {
        if (key.Length is < 10 or > 200)
        {
            return null;
        }
        var hash = ApiKeys.Hash(key);
        var cache = _byHash;
        if (cache.TryGetValue(hash, out var user))
        {
            // An expiring key leaves the cache at its expiry.
            return user.Limits.ExpiresAtMs is { } until && until <= DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() ? null : user;
        }
        using var connection = store.Open();
        using var command = connection.Sql(
            """
            SELECT u.id, u.name, u.is_admin, k.prefix, u.plan,
                   COALESCE(u.weight, p.weight), COALESCE(u.priority, p.priority), COALESCE(u.max_priority, p.max_priority),
                   k.scopes, COALESCE(k.rpm, p.key_rpm), COALESCE(k.max_concurrent, p.key_max_concurrent),
                   COALESCE(k.budget, p.key_budget), COALESCE(k.budget_period, p.key_budget_period), k.expires_at, k.parent
            FROM api_keys k JOIN users u ON u.id = k.user_id LEFT JOIN plans p ON p.name = u.plan
            WHERE k.key_hash = @hash AND k.revoked_at IS NULL AND u.disabled_at IS NULL
            """,
            ("@hash", hash));
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }
        var expires = reader.LongOrNull(13);
        var parent = reader.StringOrNull(14);
        if (expires is { } at && at <= DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())
        {
            return null;
        }
        var priority = Priorities.Clamp(reader.IntOrNull(6) ?? Priorities.Default);
        user = new AuthUser(reader.GetString(0), reader.GetString(1), reader.GetInt64(2) != 0)
        {
            Key = reader.GetString(3),
            Plan = reader.StringOrNull(4),
            Weight = Math.Max(1, reader.IntOrNull(5) ?? 1),
            Priority = priority,
            MaxPriority = Math.Max(priority, Priorities.Clamp(reader.IntOrNull(7) ?? priority)),
            Limits = new KeyLimits(
                reader.StringOrNull(8) is { } scopes ? JsonSerializer.Deserialize<string[]>(scopes) : null,
                reader.IntOrNull(9), reader.IntOrNull(10), reader.LongOrNull(11), reader.StringOrNull(12), expires),
        };
        reader.Close();
        if (parent is not null)
        {
            // After the reader closes: PostgreSQL runs one command at a time on a connection.
            user = user with { Limits = user.Limits with { Ancestors = AncestorsOf(connection, parent) } };
        }
        cache[hash] = user;
        return user;
    }

    /// <summary>A child key's parent and the keys above it, nearest first, each with its resolved limits.</summary>
    private static List<KeyAncestor> AncestorsOf(System.Data.Common.DbConnection connection, string parent)
    {
        using var command = connection.Sql(
            """
            WITH RECURSIVE chain(prefix, depth) AS (
                SELECT CAST(@parent AS TEXT), 1
                UNION ALL
                SELECT k.parent, c.depth + 1 FROM api_keys k JOIN chain c ON k.prefix = c.prefix WHERE k.parent IS NOT NULL AND c.depth < 32)
            SELECT k.prefix, k.scopes, COALESCE(k.rpm, p.key_rpm), COALESCE(k.max_concurrent, p.key_max_concurrent),
                   COALESCE(k.budget, p.key_budget), COALESCE(k.budget_period, p.key_budget_period), k.expires_at
            FROM chain c JOIN api_keys k ON k.prefix = c.prefix JOIN users u ON u.id = k.user_id LEFT JOIN plans p ON p.name = u.plan
            ORDER BY c.depth
            """,
            ("@parent", parent));
        using var reader = command.ExecuteReader();
        var list = new List<KeyAncestor>();
        while (reader.Read())
        {
            list.Add(new KeyAncestor(reader.GetString(0), new KeyLimits(
                reader.StringOrNull(1) is { } scopes ? JsonSerializer.Deserialize<string[]>(scopes) : null,
                reader.IntOrNull(2), reader.IntOrNull(3), reader.LongOrNull(4), reader.StringOrNull(5), reader.LongOrNull(6))));
        }
        return list;
    }
}
