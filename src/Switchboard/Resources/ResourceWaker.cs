namespace Switchboard.Resources;

/// <summary>
/// Sends parked jobs on as capacity returns, and renews the slot leases of this process's
/// running jobs. It runs at once after a local park, after a local release while jobs wait
/// (<see cref="Released"/>), when the gate says a rate token or a budget period is due, and at
/// least every <see cref="MaxIdle"/> (parks and releases in other executors are seen that way). While the gate cannot be reached it retries, logging once
/// per outage: jobs wait, nothing runs unlimited.
/// </summary>
public sealed class ResourceWaker(
    IResourceGate gate, ResourceNeeds needs, HeldSlots slots, GateHealth health, ILogger<ResourceWaker> logger) : BackgroundService
{
    private static readonly TimeSpan MaxIdle = TimeSpan.FromMilliseconds(200);
    private readonly SemaphoreSlim _nudge = new(0, 1);
    private long _lastRenewMs;

    // Whether the last look found jobs waiting: while none do, a release needs no wake (which
    // would cost Redis calls on every job).
    private volatile bool _waiting = true;

    // One count per slot released here, for a worker waiting briefly in ResourceSlots (one waiter
    // per release, not all: a release frees one slot). Capped, so releases nobody waited for
    // do not pile up into a burst of pointless retries later.
    private readonly SemaphoreSlim _released = new(0, int.MaxValue);

    /// <summary>Waits (briefly) for a slot to be released in this process.</summary>
    public Task<bool> WaitForReleaseAsync(TimeSpan timeout) => _released.WaitAsync(timeout);

    /// <summary>A slot was released here: a briefly waiting worker may take it, and parked jobs (if any) may move.</summary>
    public void Released()
    {
        if (_released.CurrentCount < 4)
        {
            _released.Release();
        }
        if (_waiting)
        {
            Wake();
        }
    }

    /// <summary>A job was parked here: look at the lanes now.</summary>
    public void Parked()
    {
        _waiting = true;
        Wake();
    }

    private void Wake()
    {
        try
        {
            _nudge.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already nudged.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = MaxIdle;
            var resources = needs.All;
            try
            {
                // Also with an empty map: lanes of resources removed from it are sent on.
                await RenewIfDue(resources);
                var due = await gate.WakeAsync(resources);
                _waiting = due is not null;
                if (due is { } next && next < wait)
                {
                    wait = next < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : next;
                }
                health.Reachable();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (resources.Count > 0)
                {
                    health.Unreachable(ex, logger);
                }
                wait = TimeSpan.FromSeconds(1);
            }
            try
            {
                await _nudge.WaitAsync(wait, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Every third of the shortest lease, the slots of jobs running here are extended.</summary>
    private async Task RenewIfDue(IReadOnlyCollection<Config.ResourceSpec> resources)
    {
        if (resources.Count == 0)
        {
            return;
        }
        var now = Environment.TickCount64;
        var every = resources.Min(r => r.LeaseSeconds) * 1000L / 3;
        if (now - _lastRenewMs < every)
        {
            return;
        }
        _lastRenewMs = now;
        var held = slots.Snapshot();
        if (held.Count > 0)
        {
            await gate.RenewAsync(held);
        }
    }
}

/// <summary>
/// Whether the gate was reachable at the last try: an alert condition while it is not (the
/// health endpoint and recon's alerts read it). Logged once per outage.
/// </summary>
public sealed class GateHealth
{
    private int _down;

    /// <summary>An error that means the gate (Redis) cannot be reached now, as opposed to a bug.</summary>
    public static bool IsUnreachableError(Exception ex) => ex is StackExchange.Redis.RedisException or TimeoutException;

    public DateTimeOffset? Since { get; private set; }

    public void Unreachable(Exception ex, ILogger logger)
    {
        if (Interlocked.Exchange(ref _down, 1) == 0)
        {
            Since = DateTimeOffset.UtcNow;
            logger.LogError("The resource gate cannot be reached ({Error}); jobs that need a resource wait until it can", ex.Message);
        }
    }

    public void Reachable()
    {
        if (Interlocked.Exchange(ref _down, 0) == 1)
        {
            Since = null;
        }
    }
}
