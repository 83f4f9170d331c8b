using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Users;

namespace Switchboard.Admin.Panel;

/// <summary>
/// The password checks of the login form: at most <see cref="SwitchboardOptions.LoginHashConcurrency"/>
/// at once (one per core by default), so anonymous logins cannot take every core; a login that
/// finds no free slot within <see cref="SwitchboardOptions.LoginHashWait"/> is refused. Every
/// check computes exactly one hash: a name without a hash is checked against
/// <see cref="PasswordHashes.Dummy"/>, so unknown names, wrong passwords and users who may not log
/// in cost the same. <see cref="Computed"/> and <see cref="MostAtOnce"/> let tests count that work.
/// </summary>
public sealed class PasswordChecks
{
    private readonly SemaphoreSlim _slots;
    private readonly TimeSpan _wait;
    private long _computed;
    private int _running;
    private int _mostAtOnce;

    public PasswordChecks(IOptions<SwitchboardOptions> options)
    {
        var slots = options.Value.LoginHashConcurrency > 0 ? options.Value.LoginHashConcurrency : Environment.ProcessorCount;
        _slots = new SemaphoreSlim(slots, slots);
        _wait = options.Value.LoginHashWait;
        // The dummy is made here rather than by the first login for an unknown name.
        _ = PasswordHashes.Dummy.Value;
    }

    /// <summary>Password hashes computed by logins so far.</summary>
    public long Computed => Interlocked.Read(ref _computed);

    /// <summary>The most checks that ran at the same time so far.</summary>
    public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

    /// <summary>Waits for a free slot; false when none came in time. A true must be followed by <see cref="Exit"/>.</summary>
    public Task<bool> TryEnter() => _slots.WaitAsync(_wait);

    public void Exit() => _slots.Release();

    /// <summary>Checks a password against a stored hash, or against the dummy when there is none (then always Failed).</summary>
    public PasswordVerificationResult Verify(string? hash, string password)
    {
        var running = Interlocked.Increment(ref _running);
        try
        {
            for (var most = _mostAtOnce; running > most; most = _mostAtOnce)
            {
                Interlocked.CompareExchange(ref _mostAtOnce, running, most);
            }
            Interlocked.Increment(ref _computed);
            var result = PasswordHashes.Verify(hash ?? PasswordHashes.Dummy.Value, password);
            return hash is null ? PasswordVerificationResult.Failed : result;
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }
}
