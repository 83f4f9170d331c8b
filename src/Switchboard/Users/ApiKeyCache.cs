using System.Collections.Concurrent;

namespace Switchboard.Users;

public sealed record AuthUser(string Id, string Name, bool IsAdmin);

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
            return user;
        }
        using var connection = store.Open();
        using var command = connection.Sql(
            """
            SELECT u.id, u.name, u.is_admin FROM api_keys k JOIN users u ON u.id = k.user_id
            WHERE k.key_hash = @hash AND k.revoked_at IS NULL AND u.disabled_at IS NULL
            """,
            ("@hash", hash));
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }
        user = new AuthUser(reader.GetString(0), reader.GetString(1), reader.GetInt64(2) != 0);
        cache[hash] = user;
        return user;
    }
}
