using Switchboard.Storage;

namespace Switchboard.Admin.Panel;

/// <summary>
/// Locks a user name out of the login form for 5 minutes: from one client address after 5
/// failures in a row there, and from everywhere after 50 failures from any addresses (each
/// failure within 5 minutes of the one before). Keyed per address first so that a stranger
/// guessing passwords locks out only their own address, not the admin's; the name-wide limit
/// still stops a guesser who spreads over many addresses. Kept in the store
/// (<c>login_failures</c>, one row per key), so counts and lockouts hold across every api
/// process of a deployment and across restarts. Every attempt is counted before its password is
/// checked (<see cref="TryReserve"/>); a locked attempt is refused unchecked and not counted; a
/// success clears the count from its address.
/// </summary>
public sealed class LoginThrottle(Store store, TimeProvider time)
{
    public const int MaxFailures = 5;
    public const int MaxFailuresFromAnywhere = 50;
    public static readonly TimeSpan Lockout = TimeSpan.FromMinutes(5);

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    // Distinct prefixes, so no user name can spell another key (names may hold any character).
    private static string ByAddress(string name, string address) => $"@{address} {name}";

    private static string ByName(string name) => "=" + name;

    /// <summary>Whether the next attempt for the name from this address would be refused.</summary>
    public bool IsLockedOut(string name, string address)
    {
        using var connection = store.Open();
        return connection.Scalar<long>(
            """
            SELECT COUNT(*) FROM login_failures WHERE until_ms > @now
              AND ((name = @pair AND failures >= @max) OR (name = @name AND failures >= @maxAll))
            """,
            ("@now", Now), ("@pair", ByAddress(name, address)), ("@name", ByName(name)),
            ("@max", MaxFailures), ("@maxAll", MaxFailuresFromAnywhere)) > 0;
    }

    /// <summary>
    /// Counts an attempt as a failure before its password is checked, or refuses it (false) when
    /// the name is locked out from this address or everywhere. Each count grows by one
    /// conditional upsert that returns the new count only when it was below the limit, so
    /// attempts racing on every api process (the row is locked while it is counted) together
    /// get no more password checks than the limit. Expired rows go first (every key's, so names
    /// tried once do not pile up); each count's window restarts at each attempt.
    /// </summary>
    public Task<bool> TryReserve(string name, string address)
    {
        var now = Now;
        var until = now + (long)Lockout.TotalMilliseconds;
        return store.WriteAsync(connection =>
        {
            connection.Execute("DELETE FROM login_failures WHERE until_ms <= @now", ("@now", now));
            if (!Take(connection, ByAddress(name, address), MaxFailures, until))
            {
                return false;
            }
            if (Take(connection, ByName(name), MaxFailuresFromAnywhere, until))
            {
                return true;
            }
            // Locked everywhere: the count from this address is given back.
            connection.Execute("UPDATE login_failures SET failures = failures - 1 WHERE name = @key", ("@key", ByAddress(name, address)));
            return false;
        });
    }

    private static bool Take(System.Data.Common.DbConnection connection, string key, int max, long until) =>
        connection.Scalar<long?>(
            """
            INSERT INTO login_failures (name, failures, until_ms) VALUES (@key, 1, @until)
            ON CONFLICT (name) DO UPDATE SET failures = login_failures.failures + 1, until_ms = @until
            WHERE login_failures.failures < @max
            RETURNING failures
            """,
            ("@key", key), ("@until", until), ("@max", max)) is not null;

    /// <summary>
    /// Clears the count of the name from this address only: the name-wide count runs out on its
    /// own, so an admin's login does not reset a guesser spread over many addresses.
    /// </summary>
    public Task Succeeded(string name, string address) =>
        store.WriteAsync(connection => connection.Execute("DELETE FROM login_failures WHERE name = @key", ("@key", ByAddress(name, address))));
}
