using System.Diagnostics;
using Switchboard.Handlers;
using Switchboard.Lifecycle;
using Switchboard.Observability;

namespace Switchboard.Execution;

/// <summary>
/// A claimed job's spans in the executor, children of the context its submit stored
/// (<c>requests.trace_parent</c>): so the api's trace goes on in this process without the
/// queue message carrying anything. <c>queue wait</c> (submit to claim) and <c>claim</c> are
/// written when the claim returns, with their real start times; <c>execute</c> (the handler,
/// its upstream HTTP call a child through the HttpClient instrumentation) and <c>outcome</c>
/// (the final transition) around their work. Attributes name the request, run, attempt,
/// handler and how it ended, never its params, prompt, results or credentials
/// (docs/security.md).
/// </summary>
public sealed class JobTrace
{
    private readonly ClaimedJob _job;
    private readonly ActivityContext _parent;

    private JobTrace(ClaimedJob job, ActivityContext parent) => (_job, _parent) = (job, parent);

    /// <summary>
    /// The job's trace once claimed, its <c>queue wait</c> and <c>claim</c> spans written; null
    /// (nothing recorded) when tracing is off here or the job's submit stored no context.
    /// </summary>
    /// <param name="claimStartedAt">When the claim statement was sent.</param>
    public static JobTrace? Claimed(ClaimedJob job, DateTime claimStartedAt)
    {
        if (job.TraceParent is null || !Tracing.Enabled
            || !ActivityContext.TryParse(job.TraceParent, null, isRemote: true, out var parent))
        {
            return null;
        }
        var trace = new JobTrace(job, parent);
        // The row's creation is the submit only for an offer's first run and attempt: a retry
        // waited for its delay, a re-run was queued later, a step waited for the steps before it.
        if (job is { Run: 1, Attempt: 1, Parent: null, QueuedAt: { } queuedAt })
        {
            trace.Write("queue wait", DateTimeOffset.FromUnixTimeMilliseconds(queuedAt).UtcDateTime, claimStartedAt);
        }
        trace.Write("claim", claimStartedAt, DateTime.UtcNow);
        return trace;
    }

    /// <summary>A span of this job's, current until disposed (work started inside it, an HTTP call, is its child).</summary>
    public Activity? Start(string name) => Tagged(Tracing.Source.StartActivity(name, ActivityKind.Internal, _parent));

    /// <summary>The handler's run ended: an error status with the failure's code, never its message.</summary>
    public static void Ended(Activity? execute, Exception? failure)
    {
        if (execute is not null && failure is not null)
        {
            execute.SetStatus(ActivityStatusCode.Error, failure is HandlerException h ? h.Code : failure.GetType().Name);
        }
    }

    /// <summary>How the claim ended (succeeded, failed, retried, cancelled, released), on the current <c>outcome</c> span.</summary>
    public static void Outcome(string outcome)
    {
        if (Activity.Current is { } current && current.Source == Tracing.Source)
        {
            current.SetTag("switchboard.outcome", outcome);
        }
    }

    private void Write(string name, DateTime start, DateTime end)
    {
        using var span = Tagged(Tracing.Source.StartActivity(name, ActivityKind.Internal, _parent, startTime: start));
        span?.SetEndTime(end < start ? start : end);
    }

    private Activity? Tagged(Activity? span)
    {
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(Tracing.RequestIdTag, _job.RequestId);
            span.SetTag("switchboard.run", _job.Run);
            span.SetTag("switchboard.attempt", _job.Attempt);
            span.SetTag("switchboard.handler", _job.Handler);
            if (_job.Parent is not null)
            {
                span.SetTag("switchboard.deal_id", _job.Parent);
                span.SetTag("switchboard.step", _job.Step);
            }
        }
        return span;
    }
}
