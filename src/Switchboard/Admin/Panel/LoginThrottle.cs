using Switchboard.Storage;

namespace Switchboard.Admin.Panel;

/// <summary>
/// Locks a user name out of the login form for 5 minutes after 5 failures in a row (each within
/// 5 minutes of the one before). Kept in the store (<c>login_failures</c>), so the count and the
/// lockout hold across every api process of a deployment and across restarts. A locked name's
/// attempts are refused before its password is checked and are not counted.
/// </summary>
public sealed class LoginThrottle(Store store, TimeProvider time)
{
    public const int MaxFailures = 5;
    public static readonly TimeSpan Lockout = TimeSpan.FromMinutes(5);

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public bool IsLockedOut(string name)
    {
        using var connection = store.Open();
        return connection.Scalar<long?>("SELECT failures FROM login_failures WHERE name = @name AND until_ms > @now", ("@name", name), ("@now", Now)) >= MaxFailures;
    }

    /// <summary>
    /// Counts a failure. Expired rows go first (every name's, so names tried once do not pile
    /// up), then the name's count grows and its window restarts.
    /// </summary>
    public Task Failed(string name)
    {
        var now = Now;
        return store.WriteAsync(connection =>
        {
            connection.Execute("DELETE FROM login_failures WHERE until_ms <= @now", ("@now", now));
            connection.Execute(
                """
                INSERT INTO login_failures (name, failures, until_ms) VALUES (@name, 1, @until)
                ON CONFLICT (name) DO UPDATE SET failures = login_failures.failures + 1, until_ms = @until
                """,
                ("@name", name), ("@until", now + (long)Lockout.TotalMilliseconds));
        });
    }

    public Task Succeeded(string name) =>
        store.WriteAsync(connection => connection.Execute("DELETE FROM login_failures WHERE name = @name", ("@name", name)));
}
