using System.Collections.Concurrent;

namespace Switchboard.Admin.Panel;

/// <summary>
/// Locks a user name out of the login form for 5 minutes after 5 failures in a row. In memory,
/// per process: a restart or another api process starts counting afresh (acceptable for a
/// panel that admins alone use; the password hashes stay slow either way).
/// </summary>
public sealed class LoginThrottle(TimeProvider time)
{
    public const int MaxFailures = 5;
    public static readonly TimeSpan Lockout = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, (int Failures, DateTimeOffset Until)> _state = new(StringComparer.Ordinal);

    public bool IsLockedOut(string name) =>
        _state.TryGetValue(name, out var s) && s.Failures >= MaxFailures && s.Until > time.GetUtcNow();

    public void Failed(string name) =>
        _state.AddOrUpdate(name, _ => (1, time.GetUtcNow() + Lockout), (_, s) =>
            s.Failures >= MaxFailures && s.Until <= time.GetUtcNow() ? (1, time.GetUtcNow() + Lockout) : (s.Failures + 1, time.GetUtcNow() + Lockout));

    public void Succeeded(string name) => _state.TryRemove(name, out _);
}
