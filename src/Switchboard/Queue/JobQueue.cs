using Switchboard.Fairness;
namespace Switchboard.Queue;

/// <summary>
/// A queue message is a pointer, never the payload: the request id and its run, and the handler
/// that runs it, by which the queue routes it to the executors serving that handler (they read
/// only their handlers' queues). The claim in the store decides whether it is still worth
/// running (and which attempt it is). Two messages are the same message when id and run are:
/// the handler is where it goes, not what it is.
/// <para>
/// <see cref="UserId"/>, <see cref="Priority"/> and <see cref="Weight"/> say where the message
/// waits in a fair queue or lane (<see cref="FairOrder{T}"/>); they are not part of its identity
/// nor of its text (the Redis queue keeps them in the key of the flow that holds the text). A
/// message without a user (recon's, an older build's) waits in one flow of its own.
/// </para>
/// </summary>
public readonly record struct JobMessage(string RequestId, int Run, string Handler, string? UserId = null, int Priority = Priorities.Default, int Weight = 1)
{
    /// <summary>The message as one string (<c>id:run</c>), for queues that store text (the handler is the queue it is in).</summary>
    public override string ToString() => $"{RequestId}:{Run}";

    public bool Equals(JobMessage other) => string.Equals(RequestId, other.RequestId, StringComparison.Ordinal) && Run == other.Run;

    public override int GetHashCode() => HashCode.Combine(RequestId, Run);

    /// <summary>Reads <see cref="ToString"/>'s text back; <paramref name="handler"/> is the queue it was read from.</summary>
    public static bool TryParse(string? text, string handler, out JobMessage message)
    {
        message = default;
        var colon = text?.LastIndexOf(':') ?? -1;
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var run))
        {
            return false;
        }
        message = new JobMessage(text![..colon], run, handler);
        return true;
    }
}

/// <summary>A message handed to one consumer; acknowledge it after the request finished (or was found not claimable).</summary>
public sealed record JobDelivery(JobMessage Message, object? Receipt = null);

/// <summary>
/// At-least-once delivery of job messages. The embedded default keeps them in process (a crash
/// loses them; recon re-dispatches from the store); the distributed deployment keeps them in
/// Redis Streams. Every implementation counts the copies of each message it holds (waiting,
/// delayed or delivered and not yet acked), so recon can ask which queued requests have none.
/// </summary>
public interface IJobQueue
{
    /// <summary>
    /// Dispatches the message. It may complete before the message is durable in the queue (the
    /// Redis queue sends in batches): a message lost then is found again by recon through
    /// <see cref="MissingAsync"/>, since the store still says queued.
    /// </summary>
    ValueTask EnqueueAsync(JobMessage message, CancellationToken cancellationToken = default);

    /// <summary>Delivers the message after <paramref name="delay"/> (retry backoff, not-before).</summary>
    void EnqueueLater(JobMessage message, TimeSpan delay);

    ValueTask<JobDelivery> ReadAsync(CancellationToken cancellationToken);

    /// <summary>Done with this delivery: the request finished, or the message was found not claimable.</summary>
    ValueTask AckAsync(JobDelivery delivery);

    /// <summary>
    /// Heartbeat for deliveries still being worked on, so the queue does not give them to
    /// another consumer as abandoned (the Redis queue reclaims entries idle past the lease).
    /// </summary>
    ValueTask TouchAsync(IReadOnlyCollection<JobDelivery> deliveries);

    /// <summary>The messages among <paramref name="candidates"/> of which the queue holds no copy.</summary>
    ValueTask<IReadOnlyList<JobMessage>> MissingAsync(IReadOnlyList<JobMessage> candidates);

    /// <summary>
    /// How many messages the queue delivers before <paramref name="message"/> if nothing else
    /// arrives (<see cref="FairOrder{T}.PositionOf"/>); null when it is not waiting here
    /// (delivered, delayed, or a queue that cannot tell).
    /// </summary>
    ValueTask<long?> PositionAsync(JobMessage message) => ValueTask.FromResult<long?>(null);

    /// <summary>Messages waiting to be delivered (not counting delayed ones).</summary>
    ValueTask<long> DepthAsync();

    /// <summary>
    /// Forgets the copies an earlier build left in a layout this one no longer reads (the Redis
    /// queue before one stream per handler), so that recon, which calls this before a new leader's
    /// first pass, finds their requests without a message and sends them again. Returns how many.
    /// </summary>
    ValueTask<long> ForgetLegacyCopiesAsync() => ValueTask.FromResult(0L);

    /// <summary>
    /// Messages waiting to be delivered per handler (not counting delayed ones, nor those
    /// delivered and not acked): each executor group's backlog.
    /// </summary>
    ValueTask<IReadOnlyDictionary<string, long>> DepthByHandlerAsync();
}
