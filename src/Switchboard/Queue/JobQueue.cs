namespace Switchboard.Queue;

/// <summary>
/// A queue message is a pointer, never the payload: the request id and its run. The claim in
/// the store decides whether it is still worth running (and which attempt it is).
/// </summary>
public readonly record struct JobMessage(string RequestId, int Run);

/// <summary>A message handed to one consumer; acknowledge it after the request finished (or was found not claimable).</summary>
public sealed record JobDelivery(JobMessage Message, object? Receipt = null);

/// <summary>
/// At-least-once delivery of job messages. The embedded default keeps them in process (a crash
/// loses them; recovery re-dispatches from the store); the distributed deployment will keep them
/// in Redis Streams.
/// </summary>
public interface IJobQueue
{
    ValueTask EnqueueAsync(JobMessage message, CancellationToken cancellationToken = default);

    /// <summary>Delivers the message after <paramref name="delay"/> (retry backoff); lost on crash like any in-process message.</summary>
    void EnqueueLater(JobMessage message, TimeSpan delay);

    ValueTask<JobDelivery> ReadAsync(CancellationToken cancellationToken);

    ValueTask AckAsync(JobDelivery delivery);

    /// <summary>Messages waiting (not yet read by a worker).</summary>
    long Depth { get; }
}
