namespace Switchboard.Queue;

/// <summary>
/// Logs a Redis outage once, not once per failed command: the first failure is a warning, more
/// failures during the same outage are counted (and repeated at most every
/// <see cref="Repeat"/>), and the first success after it says how long it lasted. At thousands of
/// messages a second, a warning per message would drown the log exactly when it matters.
/// </summary>
internal sealed class RedisOutageLog(ILogger logger, string what)
{
    private static readonly TimeSpan Repeat = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private long _since;
    private long _lastLogged;
    private long _failures;
    private long _dropped;

    public bool InOutage => Volatile.Read(ref _since) != 0;

    /// <param name="dropped">Messages given up on because of this failure (0 when the caller retries).</param>
    public void Failed(Exception ex, int dropped = 0) => Failed(Describe(ex), dropped);

    public void Failed(string reason, int dropped = 0)
    {
        var now = Environment.TickCount64;
        lock (_lock)
        {
            _failures++;
            _dropped += dropped;
            if (_since != 0 && now - _lastLogged < Repeat.TotalMilliseconds)
            {
                return;
            }
            var first = _since == 0;
            if (first)
            {
                _since = now;
            }
            _lastLogged = now;
            if (first)
            {
                logger.LogWarning("Redis unavailable for {What}: {Error}", what, reason);
            }
            else
            {
                logger.LogWarning("Redis still unavailable for {What} after {Seconds:0} s ({Failures} failures, {Dropped} messages dropped so far): {Error}",
                    what, (now - _since) / 1000.0, _failures, _dropped, reason);
            }
        }
    }

    public void Succeeded()
    {
        if (Volatile.Read(ref _since) == 0)
        {
            return;
        }
        lock (_lock)
        {
            if (_since == 0)
            {
                return;
            }
            var seconds = (Environment.TickCount64 - _since) / 1000.0;
            if (_dropped > 0)
            {
                logger.LogInformation("Redis available again for {What} after {Seconds:0.0} s; {Dropped} messages were dropped (recon re-dispatches them)", what, seconds, _dropped);
            }
            else
            {
                logger.LogInformation("Redis available again for {What} after {Seconds:0.0} s ({Failures} failures)", what, seconds, _failures);
            }
            _since = 0;
            _failures = 0;
            _dropped = 0;
        }
    }

    // The message, not the stack: the same outage would print the same trace a hundred times.
    private static string Describe(Exception ex) => $"{ex.GetType().Name}: {ex.Message}";
}
