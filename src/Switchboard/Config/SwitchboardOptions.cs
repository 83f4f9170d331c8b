using System.ComponentModel.DataAnnotations;
using Switchboard.Fairness;

namespace Switchboard.Config;

/// <summary>Settings of a Switchboard process (section <c>Switchboard</c>; command-line switches map onto it).</summary>
public sealed class SwitchboardOptions
{
    public const string Section = "Switchboard";

    /// <summary>Where the HTTP roles listen when neither <c>--urls</c> nor <c>ASPNETCORE_URLS</c> says.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8080";

    /// <summary>Folder of the embedded store (<c>--data</c>).</summary>
    [Required]
    public string DataDir { get; set; } = "./data";

    /// <summary>SQLite durability: FULL (fsync at every commit: survives power loss) or NORMAL (survives a process crash only).</summary>
    [RegularExpression("^(?i:full|normal)$", ErrorMessage = "Switchboard:Synchronous must be FULL or NORMAL")]
    public string Synchronous { get; set; } = "FULL";

    /// <summary>Jobs one executor process runs at once (<c>--workers</c>). Handlers are async, so this is not a thread count.</summary>
    [Range(1, 10_000)]
    public int Workers { get; set; } = 128;

    /// <summary>
    /// The handlers this executor serves (<c>--handlers 'openai.*,anthropic.messages'</c>): exact
    /// ids and <c>module.*</c>, comma-separated; null or empty: every handler it has. Checked at
    /// start (<see cref="Queue.HandlerPatterns"/>).
    /// </summary>
    public string? Handlers { get; set; }

    /// <summary>How long a claimed job is owned without a heartbeat before recon may give it to another worker.</summary>
    [Range(1, 86_400)]
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>
    /// How long before its lease runs out, by its own clock, an executor stops a job (cancels its
    /// handler; starts none): the time another process's stall, or clocks apart, may take without
    /// two upstream calls at once. Null: a quarter of the lease. At most half the lease.
    /// </summary>
    public TimeSpan? LeaseMargin { get; set; }

    /// <summary>The part of a lease an executor uses: <see cref="LeaseSeconds"/> less <see cref="LeaseMargin"/>.</summary>
    public TimeSpan UsableLease => TimeSpan.FromSeconds(LeaseSeconds) - (LeaseMargin ?? TimeSpan.FromSeconds(LeaseSeconds / 4.0));

    /// <summary>
    /// Whether queues and resource lanes serve users in weighted round-robin and priorities
    /// (<see cref="FairOrder{T}"/>); false: first in first out, as before issue 22 (kept to
    /// measure what fairness costs, bench/README.md).
    /// </summary>
    public bool Fair { get; set; } = true;

    /// <summary>How long a priority level waits before it counts one level higher (aging, so no level starves).</summary>
    public TimeSpan PriorityAgeStep { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Claims per request run before a transient failure becomes final.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>First retry delay; doubled each attempt, with jitter, capped by <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Largest accepted request body in bytes (413 above).</summary>
    [Range(256, 64 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Largest single input value in characters (400 above).</summary>
    [Range(1, 64 * 1024 * 1024)]
    public int MaxValueChars { get; set; } = 16 * 1024;

    /// <summary>How often the store's change counters are read (catalog and key edits from other processes).</summary>
    public TimeSpan StorePollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often an open live channel re-checks its API key while nothing changes (it also checks before every push).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Switchboard:LiveKeyCheckInterval must be between 100 ms and 1 minute")]
    public TimeSpan LiveKeyCheckInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Live channels (status WebSockets and later streams) one user may have open on one process; 429 above.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Switchboard:LiveChannelsPerUser must be between 1 and 1000000")]
    public int LiveChannelsPerUser { get; set; } = 20;

    /// <summary>Live channels one process keeps open in all; 429 above.</summary>
    [Range(1, 10_000_000, ErrorMessage = "Switchboard:LiveChannelsPerProcess must be between 1 and 10000000")]
    public int LiveChannelsPerProcess { get; set; } = 10_000;

    /// <summary>
    /// How long the capability token in a 202 answer's <c>stream_url</c> opens the request's event
    /// stream (at most a day; a request's stream is also closed to it once the request is gone).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Switchboard:StreamTokenLifetime must be between 1 second and 24 hours")]
    public TimeSpan StreamTokenLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often recon looks for expired leases and expired results.</summary>
    public TimeSpan ReconInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often recon's leader rolls usage up and prunes finished requests (Retention/RetentionService.cs).</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Distributed deployment: lease of the active recon in Redis, renewed every third of it. A
    /// standby takes over within this long after the active recon dies.
    /// </summary>
    [Range(1, 3600)]
    public int ReconLeaseSeconds { get; set; } = 15;

    /// <summary>On stop, how long in-flight jobs may finish before they are released back to the queue.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often an executor writes the usage it counted in memory (calls, credits, errors,
    /// latency per minute) to the store; whatever is left is written on stop.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00", ErrorMessage = "Switchboard:UsageFlushInterval must be > 0 and at most 1 hour")]
    public TimeSpan UsageFlushInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long an admin panel session lasts at most after its login, however active (the idle
    /// timeout of 8 hours slides; this does not).
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00", ErrorMessage = "Switchboard:PanelSessionLifetime must be between 1 minute and 30 days")]
    public TimeSpan PanelSessionLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>Password checks (panel logins) one process runs at once; 0 means one per CPU core.</summary>
    [Range(0, 1024)]
    public int LoginHashConcurrency { get; set; }

    /// <summary>How long a login waits for a free password check before it is refused with 503 and Retry-After.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "Switchboard:LoginHashWait must be between 0 and 1 minute")]
    public TimeSpan LoginHashWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Addresses of reverse proxies whose <c>X-Forwarded-For</c>/<c>X-Forwarded-Proto</c> are
    /// believed (<c>Switchboard:KnownProxies:0=10.0.0.5</c>). None by default: the headers are
    /// then ignored from everyone, loopback included.
    /// </summary>
    public string[] KnownProxies { get; set; } = [];

    /// <summary>Networks of trusted reverse proxies, in CIDR form (<c>10.0.0.0/8</c>).</summary>
    public string[] KnownNetworks { get; set; } = [];
}
