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
    // ---- api -----------------------------------------------------------------------------------

    /// <summary>Submissions by <c>kind</c> (offer, deal), <c>target</c> ("service/action" or the deal's name; "unknown" when it is not in the catalog), <c>outcome</c> (accepted, duplicate, rejected) and <c>code</c> (the problem code of a rejection, else "").</summary>
    public static readonly Counter Submissions = Metrics.CreateCounter(
        "switchboard_submissions_total", "Submissions to /svc by offer or deal and outcome.",
        new CounterConfiguration { LabelNames = ["kind", "target", "outcome", "code"] });

    /// <summary>Live channels (status WebSockets) open on this process.</summary>
    public static readonly Gauge LiveChannelsOpen = Metrics.CreateGauge(
        "switchboard_live_channels_open", "Live channels (status WebSockets) open on this process.");

    public static readonly Counter LiveChannelsRefused = Metrics.CreateCounter(
        "switchboard_live_channels_refused_total", "Live channels refused with 429 because a per-user or per-process cap was reached.");

    /// <summary>Batched change-marker queries of the live status poller (one per batch of watched requests per tick).</summary>
    public static readonly Counter LiveStatusStoreReads = Metrics.CreateCounter(
        "switchboard_live_status_store_reads_total", "Store queries made by the live status poller to find changed requests.");

    public static readonly Counter LiveStatusTicks = Metrics.CreateCounter(
        "switchboard_live_status_ticks_total", "Live status poller rounds that had requests to watch.");

    // ---- executor ------------------------------------------------------------------------------

    /// <summary>Attempts ended, by <c>handler</c> and <c>outcome</c> (succeeded, failed, retried, cancelled, released).</summary>
    public static readonly Counter RequestsProcessed = Metrics.CreateCounter(
        "switchboard_requests_processed_total", "Job attempts ended by the executor, by handler and outcome.",
        new CounterConfiguration { LabelNames = ["handler", "outcome"] });

    /// <summary>How long a handler ran, per attempt.</summary>
    public static readonly Histogram JobDuration = Metrics.CreateHistogram(
        "switchboard_job_duration_seconds", "Time a handler ran for one attempt.",
        new HistogramConfiguration { LabelNames = ["handler"], Buckets = Histogram.ExponentialBuckets(0.005, 2, 16) });

    public static readonly Gauge JobsInFlight = Metrics.CreateGauge(
        "switchboard_jobs_in_flight", "Jobs this executor is running now.");

    /// <summary>Time a job waited for a slot of its resource (parked or briefly).</summary>
    public static readonly Histogram ResourceWait = Metrics.CreateHistogram(
        "switchboard_resource_wait_seconds", "Time a job waited for its resource before running.",
        new HistogramConfiguration { LabelNames = ["resource"], Buckets = Histogram.ExponentialBuckets(0.001, 4, 12) });

    public static readonly Counter Retries = Metrics.CreateCounter(
        "switchboard_retries_total", "Attempts that failed transiently and were scheduled again, by handler.",
        new CounterConfiguration { LabelNames = ["handler"] });

    /// <summary>Integration credits spent by attempts (failed ones too: the API was called), by <c>resource</c> ("" when none) and <c>handler</c>. The Prometheus side of the <c>Switchboard.Usage</c> meter.</summary>
    public static readonly Counter IntegrationCredits = Metrics.CreateCounter(
        "switchboard_integration_credits_total", "Integration credits spent by handler attempts, by resource and handler.",
        new CounterConfiguration { LabelNames = ["resource", "handler"] });

    /// <summary>User credits earned by successful attempts, by <c>resource</c> and <c>handler</c>.</summary>
    public static readonly Counter UserCreditsEarned = Metrics.CreateCounter(
        "switchboard_user_credits_earned_total", "User credits earned by successful handler attempts, by resource and handler.",
        new CounterConfiguration { LabelNames = ["resource", "handler"] });

    // ---- recon ---------------------------------------------------------------------------------

    public static readonly Gauge QueueDepth = Metrics.CreateGauge(
        "switchboard_queue_depth", "Queued requests (and deal steps) by handler.",
        new GaugeConfiguration { LabelNames = ["handler"] });

    public static readonly Gauge QueueOldestAge = Metrics.CreateGauge(
        "switchboard_queue_oldest_age_seconds", "Age of the oldest queued request by handler.",
        new GaugeConfiguration { LabelNames = ["handler"] });

    public static readonly Gauge ExecutorsLive = Metrics.CreateGauge(
        "switchboard_executors_live", "Executors whose heartbeat is current.");

    /// <summary>Recon's repairs by <c>kind</c> (requeued, failed_lost, dispatched, expired).</summary>
    public static readonly Counter ReconRepairs = Metrics.CreateCounter(
        "switchboard_recon_repairs_total", "Repairs made by recon, by kind.",
        new CounterConfiguration { LabelNames = ["kind"] });

    public static readonly Gauge AlertsFiring = Metrics.CreateGauge(
        "switchboard_alerts_firing", "1 while the alert (by name and subject) is firing, else 0.",
        new GaugeConfiguration { LabelNames = ["alert", "subject"] });

    public static readonly Gauge ResourceCreditsUsed = Metrics.CreateGauge(
        "switchboard_resource_credits_used", "Integration credits used in the resource's current period.",
        new GaugeConfiguration { LabelNames = ["resource"] });

    public static readonly Gauge ResourceSlotsInUse = Metrics.CreateGauge(
        "switchboard_resource_slots_in_use", "Slots of the resource held by running jobs (all executors).",
        new GaugeConfiguration { LabelNames = ["resource"] });

    public static readonly Gauge ResourceJobsWaiting = Metrics.CreateGauge(
        "switchboard_resource_jobs_waiting", "Jobs parked in the resource's lane, waiting for a slot.",
        new GaugeConfiguration { LabelNames = ["resource"] });

    public static readonly Gauge ResourceBudgetUsedRatio = Metrics.CreateGauge(
        "switchboard_resource_budget_used_ratio", "Share (0-1) of the resource's period budget used.",
        new GaugeConfiguration { LabelNames = ["resource"] });

    public static readonly Gauge DependencyUp = Metrics.CreateGauge(
        "switchboard_dependency_up", "1 when recon reached the dependency (store, redis) at its last check.",
        new GaugeConfiguration { LabelNames = ["dependency"] });

    public static readonly Gauge DependencyLatency = Metrics.CreateGauge(
        "switchboard_dependency_latency_seconds", "Round trip of recon's last check of the dependency.",
        new GaugeConfiguration { LabelNames = ["dependency"] });

    public static readonly Gauge HandlerErrorRatio = Metrics.CreateGauge(
        "switchboard_handler_error_ratio", "Share (0-1) of a handler's calls that failed over the alert window.",
        new GaugeConfiguration { LabelNames = ["handler"] });
}
