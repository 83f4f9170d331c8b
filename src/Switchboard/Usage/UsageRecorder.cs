using System.Collections.Concurrent;

namespace Switchboard.Usage;

/// <summary>One row of <c>usage_minutes</c>: the minute (Unix ms of its start), the handler's resource ("" when none), the handler and the user.</summary>
public readonly record struct UsageKey(long Minute, string Resource, string Handler, string UserId);

/// <summary>The counts of one key, as read out of the recorder (or kept after a failed flush).</summary>
public readonly record struct UsageTotals(long Calls, long IntegrationCredits, long UserCredits, long Errors, long LatencySumMs, long LatencyMaxMs)
{
    public UsageTotals Add(UsageTotals other) => new(
        Calls + other.Calls,
        IntegrationCredits + other.IntegrationCredits,
        UserCredits + other.UserCredits,
        Errors + other.Errors,
        LatencySumMs + other.LatencySumMs,
        Math.Max(LatencyMaxMs, other.LatencyMaxMs));
}

/// <summary>
/// Counts every handler attempt of this executor in memory, per minute, resource, handler and
/// user; <see cref="UsageFlusher"/> drains the counts into the store every
/// <c>UsageFlushInterval</c>. <see cref="Record"/> is on the executor's hot path: no lock and
/// no I/O, only a dictionary lookup and a few <see cref="Interlocked"/> adds (on a counter
/// that threads share only when they count the same key, and on this thread's stripe of the
/// writer count).
/// </summary>
public sealed class UsageRecorder
{
    private const long MinuteMs = 60_000;

    private Generation _current = new();

    /// <summary>Counts one handler attempt. Thread-safe; never blocks, never throws for I/O.</summary>
    /// <param name="resource">The handler's resource, or null when it has none (stored as "").</param>
    /// <param name="handler">The handler's id.</param>
    /// <param name="userId">The paying user's id.</param>
    /// <param name="integrationCredits">What the attempt cost at the integration (the handler's credits).</param>
    /// <param name="userCredits">What the user was charged for it.</param>
    /// <param name="error">The attempt failed (any failure: transient, permanent, timeout).</param>
    /// <param name="latency">How long the handler ran; counted in whole milliseconds.</param>
    /// <param name="at">When it ran (default: now); only its minute is kept.</param>
    public void Record(string? resource, string handler, string userId, long integrationCredits, long userCredits, bool error, TimeSpan latency, DateTimeOffset? at = null)
    {
        var ms = (at ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds();
        var key = new UsageKey(ms - (((ms % MinuteMs) + MinuteMs) % MinuteMs), resource ?? "", handler, userId);
        var latencyMs = Math.Max(0, (long)Math.Round(latency.TotalMilliseconds));
        while (true)
        {
            var generation = Volatile.Read(ref _current);
            if (!generation.TryEnter(out var slot))
            {
                // A drain swapped this generation out and sealed it: count into the new one.
                continue;
            }
            try
            {
                generation.Counts.GetOrAdd(key, static _ => new Counters()).Add(integrationCredits, userCredits, error, latencyMs);
                return;
            }
            finally
            {
                generation.Exit(slot);
            }
        }
    }

    /// <summary>
    /// Takes every count recorded so far and starts afresh. Each count is in exactly one drain:
    /// a <see cref="Record"/> racing with the swap either finishes before the old generation is
    /// read here, or counts into the new one.
    /// </summary>
    public List<KeyValuePair<UsageKey, UsageTotals>> Drain()
    {
        var taken = Interlocked.Exchange(ref _current, new Generation());
        taken.SealAndWait();
        var totals = new List<KeyValuePair<UsageKey, UsageTotals>>(taken.Counts.Count);
        foreach (var (key, counters) in taken.Counts)
        {
            totals.Add(new(key, counters.Read()));
        }
        return totals;
    }

    /// <summary>
    /// One dictionary of counters and the writers inside it. A writer announces itself (adds 1
    /// to its stripe) before it checks the seal; a drain seals before it waits for every stripe
    /// to drop to 0. Both steps are full fences, so either the drain sees the writer and waits
    /// for it, or the writer sees the seal and goes to the next generation: no add, and no new
    /// key, lands in a generation after it was read. The count is striped by thread (one cache
    /// line apart) so that threads recording at once do not fight over one line.
    /// </summary>
    private sealed class Generation
    {
        private const int Stripes = 32;
        private const int Stride = 16; // longs: 128 bytes, a cache line or two

        private readonly long[] _writers = new long[Stripes * Stride];
        private int _sealed;

        public ConcurrentDictionary<UsageKey, Counters> Counts { get; } = new();

        public bool TryEnter(out int slot)
        {
            slot = (Environment.CurrentManagedThreadId & (Stripes - 1)) * Stride;
            Interlocked.Increment(ref _writers[slot]);
            if (Volatile.Read(ref _sealed) != 0)
            {
                Interlocked.Decrement(ref _writers[slot]);
                return false;
            }
            return true;
        }

        public void Exit(int slot) => Interlocked.Decrement(ref _writers[slot]);

        public void SealAndWait()
        {
            Interlocked.Exchange(ref _sealed, 1);
            for (var slot = 0; slot < _writers.Length; slot += Stride)
            {
                var wait = new SpinWait();
                while (Volatile.Read(ref _writers[slot]) != 0)
                {
                    wait.SpinOnce();
                }
            }
        }
    }

    private sealed class Counters
    {
        private long _calls;
        private long _integrationCredits;
        private long _userCredits;
        private long _errors;
        private long _latencySumMs;
        private long _latencyMaxMs;

        public void Add(long integrationCredits, long userCredits, bool error, long latencyMs)
        {
            Interlocked.Increment(ref _calls);
            if (integrationCredits != 0)
            {
                Interlocked.Add(ref _integrationCredits, integrationCredits);
            }
            if (userCredits != 0)
            {
                Interlocked.Add(ref _userCredits, userCredits);
            }
            if (error)
            {
                Interlocked.Increment(ref _errors);
            }
            Interlocked.Add(ref _latencySumMs, latencyMs);
            var max = Volatile.Read(ref _latencyMaxMs);
            while (latencyMs > max)
            {
                var seen = Interlocked.CompareExchange(ref _latencyMaxMs, latencyMs, max);
                if (seen == max)
                {
                    break;
                }
                max = seen;
            }
        }

        /// <summary>Only after the generation was sealed and its writers left.</summary>
        public UsageTotals Read() => new(
            Volatile.Read(ref _calls),
            Volatile.Read(ref _integrationCredits),
            Volatile.Read(ref _userCredits),
            Volatile.Read(ref _errors),
            Volatile.Read(ref _latencySumMs),
            Volatile.Read(ref _latencyMaxMs));
    }
}
