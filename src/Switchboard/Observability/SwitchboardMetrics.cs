using Prometheus;

namespace Switchboard.Observability;

/// <summary>
/// Every Prometheus metric Switchboard defines, in one place so names and labels stay
/// consistent (units in names, <c>_total</c> counters). Label values are bounded: handler,
/// resource, offer or deal names from the catalog and configs, outcomes and error codes; never a
/// request id or a user id. Each role exports the ones it updates (see docs/operations.md).
/// </summary>
public static class SwitchboardMetrics
{
    private static Counter NewCounter(string name, string help, params string[] labels) =>
        Metrics.CreateCounter(name, help, new CounterConfiguration { LabelNames = labels });

    private static Gauge NewGauge(string name, string help, params string[] labels) =>
        Metrics.CreateGauge(name, help, new GaugeConfiguration { LabelNames = labels });

    private static Histogram NewHistogram(string name, string help, double[] buckets, params string[] labels) =>
        Metrics.CreateHistogram(name, help, new HistogramConfiguration { LabelNames = labels, Buckets = buckets });

    // ---- api -----------------------------------------------------------------------------------

    /// <summary>Submissions by <c>kind</c> (offer, deal), <c>target</c> ("service/action" or the deal's name; "unknown" when it is not in the catalog), <c>outcome</c> (accepted, duplicate, rejected) and <c>code</c> (the problem code of a rejection, else "").</summary>
    public static readonly Counter Submissions = NewCounter("switchboard_submissions_total", "Submissions to /svc by offer or deal and outcome.", "kind", "target", "outcome", "code");

    /// <summary>Live channels (status WebSockets) open on this process.</summary>
    public static readonly Gauge LiveChannelsOpen = NewGauge("switchboard_live_channels_open", "Live channels (status WebSockets) open on this process.");

    public static readonly Counter LiveChannelsRefused = NewCounter("switchboard_live_channels_refused_total", "Live channels refused with 429 because a per-user or per-process cap was reached.");

    // ---- change feed (every role) ---------------------------------------------------------------

    /// <summary>Changes this process sent to the other processes (Redis pub/sub or PostgreSQL NOTIFY; not counted in the embedded mode).</summary>
    public static readonly Counter ChangesPublished = NewCounter("switchboard_changes_published_total", "Request changes this process sent through the distributed change feed.");

    /// <summary>Changes that could not be sent: the send queue was full or the transport failed. Followers elsewhere see the row at its next change.</summary>
    public static readonly Counter ChangesDropped = NewCounter("switchboard_changes_dropped_total", "Request changes the distributed change feed could not send.");

    public static readonly Counter ChangesReceived = NewCounter("switchboard_changes_received_total", "Request changes of other processes received through the distributed change feed.");

    /// <summary>Times the feed's subscription came back after it was lost (each wakes every follower of this process).</summary>
    public static readonly Counter ChangeFeedReconnects = NewCounter("switchboard_change_feed_reconnects_total", "Times the change feed's subscription was restored after a loss.");

    /// <summary>Progress writes of running jobs (throttled: at most one per job per interval).</summary>
    public static readonly Counter ProgressWrites = NewCounter("switchboard_progress_writes_total", "Progress values written to running requests' rows.");

    // ---- webhooks (any process that delivers) ---------------------------------------------------

    /// <summary>Webhook attempts ended, by <c>outcome</c> (delivered, failed, gone, skipped).</summary>
    public static readonly Counter WebhookDeliveries = NewCounter("switchboard_webhook_deliveries_total", "Webhook delivery attempts ended, by outcome.", "outcome");

    /// <summary>Age of the oldest webhook event neither delivered nor given up (0 when none), as last read by this process's delivery worker.</summary>
    public static readonly Gauge WebhookOldestPending = NewGauge("switchboard_webhook_oldest_pending_seconds", "Age of the oldest undelivered webhook event.");

    // ---- executor ------------------------------------------------------------------------------

    /// <summary>Attempts ended, by <c>handler</c> and <c>outcome</c> (succeeded, failed, retried, cancelled, released).</summary>
    public static readonly Counter RequestsProcessed = NewCounter("switchboard_requests_processed_total", "Job attempts ended by the executor, by handler and outcome.", "handler", "outcome");

    /// <summary>How long a handler ran, per attempt.</summary>
    public static readonly Histogram JobDuration = NewHistogram("switchboard_job_duration_seconds", "Time a handler ran for one attempt.", Histogram.ExponentialBuckets(0.005, 2, 16), "handler");

    /// <summary>A request's first wait: from its row's creation to its first claim (queued → running).</summary>
    public static readonly Histogram QueueWait = NewHistogram("switchboard_queue_wait_seconds", "Time from a request's submit to its first claim.", Histogram.ExponentialBuckets(0.0005, 2, 20), "handler");

    public static readonly Gauge JobsInFlight = NewGauge("switchboard_jobs_in_flight", "Jobs this executor is running now.");

    /// <summary>Time a job waited for a slot of its resource (parked or briefly).</summary>
    public static readonly Histogram ResourceWait = NewHistogram("switchboard_resource_wait_seconds", "Time a job waited for its resource before running.", Histogram.ExponentialBuckets(0.001, 4, 12), "resource");

    public static readonly Counter Retries = NewCounter("switchboard_retries_total", "Attempts that failed transiently and were scheduled again, by handler.", "handler");

    // Offers with several endpoints (Execution/Endpoints). New series rather than an endpoint
    // label on the handler metrics above: a label added there would split every existing series
    // and the dashboards' and alerts' queries that read them.

    /// <summary>Calls through an endpoint's breaker, by handler, endpoint and outcome (succeeded, failed, timeout, refused: the breaker was open).</summary>
    public static readonly Counter EndpointCalls = NewCounter("switchboard_endpoint_calls_total", "Calls of offers with several endpoints, by handler, endpoint profile and outcome (refused: circuit open).", "handler", "endpoint", "outcome");

    /// <summary>0 closed, 1 open, 2 half-open: this process's breaker for the (handler, endpoint).</summary>
    public static readonly Gauge EndpointBreakerState = NewGauge("switchboard_endpoint_breaker_state", "Circuit breaker of a (handler, endpoint profile) in this process: 0 closed, 1 open, 2 half-open.", "handler", "endpoint");

    public static readonly Counter EndpointBreakerTransitions = NewCounter("switchboard_endpoint_breaker_transitions_total", "Circuit breaker state changes, by handler, endpoint profile and the state entered.", "handler", "endpoint", "to");

    public static readonly Counter EndpointFallbacks = NewCounter("switchboard_endpoint_fallbacks_total", "Attempts that failed transiently at one endpoint and were sent to another, by handler, from and to.", "handler", "from", "to");

    /// <summary>Integration credits spent by attempts (failed ones too: the API was called), by <c>resource</c> ("" when none) and <c>handler</c>. The Prometheus side of the <c>Switchboard.Usage</c> meter.</summary>
    public static readonly Counter IntegrationCredits = NewCounter("switchboard_integration_credits_total", "Integration credits spent by handler attempts, by resource and handler.", "resource", "handler");

    /// <summary>User credits earned by successful attempts, by <c>resource</c> and <c>handler</c>.</summary>
    public static readonly Counter UserCreditsEarned = NewCounter("switchboard_user_credits_earned_total", "User credits earned by successful handler attempts, by resource and handler.", "resource", "handler");

    // ---- recon ---------------------------------------------------------------------------------

    public static readonly Gauge QueueDepth = NewGauge("switchboard_queue_depth", "Queued requests (and deal steps) by handler.", "handler");

    public static readonly Gauge QueueOldestAge = NewGauge("switchboard_queue_oldest_age_seconds", "Age of the oldest queued request by handler.", "handler");

    public static readonly Gauge ExecutorsLive = NewGauge("switchboard_executors_live", "Executors whose heartbeat is current.");

    /// <summary>Live executors per executor group (<c>--handlers</c> patterns; <c>*</c> without).</summary>
    public static readonly Gauge GroupExecutors = NewGauge("switchboard_executor_group_executors", "Live executors by executor group (--handlers patterns).", "group");

    /// <summary>Queued requests of the handlers an executor group serves.</summary>
    public static readonly Gauge GroupBacklog = NewGauge("switchboard_executor_group_backlog", "Queued requests of the handlers an executor group serves.", "group");

    /// <summary>
    /// Queue messages (<c>kind</c> message) and request rows (request) left for a newer build, by
    /// the <c>format</c> found (Storage/Formats.cs): during a rolling upgrade, an executor older
    /// than what it meets. Counts each meeting (an entry may come back once per lease).
    /// </summary>
    public static readonly Counter Unreadable = NewCounter("switchboard_unreadable_total", "Queue messages and request rows of a newer format this process left for a newer build, by kind and format.", "kind", "format");

    /// <summary>Recon's repairs by <c>kind</c> (requeued, failed_lost, dispatched, expired).</summary>
    public static readonly Counter ReconRepairs = NewCounter("switchboard_recon_repairs_total", "Repairs made by recon, by kind.", "kind");

    /// <summary>How long one repair pass of the leading recon took (its statements and the queue's checks).</summary>
    public static readonly Histogram ReconPass = NewHistogram("switchboard_recon_pass_seconds", "Time one recon repair pass took.", Histogram.ExponentialBuckets(0.0005, 2, 18));

    /// <summary>
    /// Rows retention removed, by <c>kind</c>: usage_minutes_rolled_up, usage_days_deleted,
    /// requests_pruned, steps_pruned, blobs_deleted, webhook_events_deleted,
    /// webhook_attempts_deleted (Retention/RetentionService.cs).
    /// </summary>
    public static readonly Counter RetentionRows = NewCounter("switchboard_retention_rows_total", "Rows removed by retention (rolled up or pruned), by kind.", "kind");

    public static readonly Gauge AlertsFiring = NewGauge("switchboard_alerts_firing", "1 while the alert (by name and subject) is firing, else 0.", "alert", "subject");

    public static readonly Gauge ResourceCreditsUsed = NewGauge("switchboard_resource_credits_used", "Integration credits used in the resource's current period.", "resource");

    public static readonly Gauge ResourceSlotsInUse = NewGauge("switchboard_resource_slots_in_use", "Slots of the resource held by running jobs (all executors).", "resource");

    public static readonly Gauge ResourceJobsWaiting = NewGauge("switchboard_resource_jobs_waiting", "Jobs parked in the resource's lane, waiting for a slot.", "resource");

    public static readonly Gauge ResourceBudgetUsedRatio = NewGauge("switchboard_resource_budget_used_ratio", "Share (0-1) of the resource's period budget used.", "resource");

    public static readonly Gauge DependencyUp = NewGauge("switchboard_dependency_up", "1 when recon reached the dependency (store, redis) at its last check.", "dependency");

    public static readonly Gauge DependencyLatency = NewGauge("switchboard_dependency_latency_seconds", "Round trip of recon's last check of the dependency.", "dependency");

    public static readonly Gauge HandlerErrorRatio = NewGauge("switchboard_handler_error_ratio", "Share (0-1) of a handler's calls that failed over the alert window.", "handler");
}
