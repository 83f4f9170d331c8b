using StackExchange.Redis;
using Switchboard.Queue;

namespace Switchboard.Recon;

/// <summary>
/// Recon leader election on one Redis key, <c>{prefix}:recon:leader</c>, holding the leader's
/// id with a TTL of one lease. The leader renews every third of the lease; a standby tries to
/// take the key as often, and right after it expires, so it takes over within about one lease
/// of the leader's last renewal.
/// <para>
/// Two leaders never act at once: <see cref="IsLeader"/> is false as soon as a renewal fails,
/// and also once the local deadline passes (last successful renewal, counted from when it was
/// <em>sent</em>, plus the lease, minus a margin), even if the renewal is still hanging. The
/// key lives at least a lease from when Redis ran the renewal, which is later than when it was
/// sent; so this process stops acting before anyone else can acquire.
/// </para>
/// </summary>
public sealed class RedisReconLease : BackgroundService, IReconLeadership
{
    // Leader: renew (if still ours). Returns 1 when renewed.
    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
        end
        return 0
        """;

    // Standby: take the key if free (or already ours). Returns -1 when held now, else the
    // holder's remaining TTL in ms, so the standby can try again right after it runs out.
    private const string AcquireScript = """
        local holder = redis.call('GET', KEYS[1])
        if holder == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return -1
        end
        if not holder then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          return -1
        end
        return redis.call('PTTL', KEYS[1])
        """;

    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKey _key;
    private readonly TimeSpan _lease;
    private readonly TimeSpan _margin;
    private readonly ILogger<RedisReconLease> _logger;

    // Environment.TickCount64 until which this process may act as leader; 0 when standby.
    private long _deadline;

    /// <param name="redis">The shared multiplexer.</param>
    /// <param name="settings">Names the key (<c>{prefix}:recon:leader</c>).</param>
    /// <param name="lease">How long the key outlives the leader's last renewal: the longest time without an active recon after the leader dies.</param>
    /// <param name="holderId">This process's id in the key; unique per process start (defaults to host:pid:random).</param>
    public RedisReconLease(IConnectionMultiplexer redis, RedisSettings settings, TimeSpan lease, ILogger<RedisReconLease> logger, string? holderId = null)
    {
        if (lease < TimeSpan.FromMilliseconds(300))
        {
            throw new ArgumentOutOfRangeException(nameof(lease), "the recon lease must be at least 300 ms");
        }
        _redis = redis;
        _key = settings.Key("recon:leader");
        _lease = lease;
        // Room for the clock-rate difference between this process and Redis, and for scheduling delays.
        _margin = TimeSpan.FromMilliseconds(Math.Max(100, lease.TotalMilliseconds / 10));
        _logger = logger;
        HolderId = holderId ?? $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
    }

    public string HolderId { get; }

    public bool IsLeader => Environment.TickCount64 < Volatile.Read(ref _deadline);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var wasLeader = false;
        var period = _lease / 3;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = period;
            var sent = Environment.TickCount64;
            try
            {
                var database = _redis.GetDatabase();
                if (wasLeader)
                {
                    var renewed = (long)await database.ScriptEvaluateAsync(RenewScript, [_key], [HolderId, (long)_lease.TotalMilliseconds]) == 1;
                    wasLeader = renewed ? Lead(sent) : Lose("the lease key was taken or expired");
                }
                else
                {
                    var ttl = (long)await database.ScriptEvaluateAsync(AcquireScript, [_key], [HolderId, (long)_lease.TotalMilliseconds]);
                    if (ttl == -1)
                    {
                        wasLeader = Lead(sent);
                        _logger.LogInformation("This process is now the recon leader ({Holder}, lease {Lease} ms)", HolderId, (long)_lease.TotalMilliseconds);
                    }
                    else if (ttl >= 0)
                    {
                        // Try again as soon as the holder's key runs out, not up to a third of a lease later.
                        wait = TimeSpan.FromMilliseconds(Math.Clamp(ttl + 5, 5, period.TotalMilliseconds));
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (wasLeader)
                {
                    wasLeader = Lose($"renewal failed: {ex.GetType().Name}: {ex.Message}");
                }
                else
                {
                    _logger.LogDebug("Recon lease not acquired: {Error}", ex.Message);
                }
            }
            if (wasLeader && !IsLeader)
            {
                // The renewal came back after the local deadline: act on the next success only.
                wasLeader = Lose("the renewal took longer than the lease allows");
            }
            try
            {
                await Task.Delay(wait, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private bool Lead(long sentAt)
    {
        Volatile.Write(ref _deadline, sentAt + (long)(_lease - _margin).TotalMilliseconds);
        return true;
    }

    private bool Lose(string why)
    {
        Volatile.Write(ref _deadline, 0);
        _logger.LogWarning("This process is no longer the recon leader: {Reason}", why);
        return false;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        var wasLeader = IsLeader;
        Volatile.Write(ref _deadline, 0);
        if (!wasLeader)
        {
            return;
        }
        try
        {
            // A standby takes over at its next attempt instead of after the lease.
            await _redis.GetDatabase().ScriptEvaluateAsync(ReleaseScript, [_key], [HolderId]);
            _logger.LogInformation("Recon leadership released");
        }
        catch (Exception ex)
        {
            _logger.LogWarning("Could not release the recon lease; a standby takes over when it expires: {Error}", ex.Message);
        }
    }
}
