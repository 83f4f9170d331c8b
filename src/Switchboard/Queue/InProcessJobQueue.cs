using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Switchboard.Queue;

/// <summary>
/// The embedded default's queue: an unbounded channel in this process. There is one process, so
/// routing is a filter: messages of the handlers this process serves (<c>serve --handlers</c>;
/// all without it) go to the channel; the others wait aside, held (so recon does not send them
/// again), for an executor that never comes to a SQLite store; recon fails them with
/// <c>no_executor</c> after the maximum wait (their entry here stays until the process ends:
/// one small entry per such request, in a configuration that is a mistake on one process).
/// </summary>
public sealed class InProcessJobQueue(HandlerPatterns? served = null) : IJobQueue, IDisposable
{
    private readonly Channel<JobMessage> _channel = Channel.CreateUnbounded<JobMessage>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly CancellationTokenSource _disposed = new();
    private readonly HandlerPatterns _served = served ?? HandlerPatterns.All;

    // Copies of each message held (waiting, delayed, or delivered and not acked).
    private readonly ConcurrentDictionary<JobMessage, int> _held = new();

    // Messages of handlers this process does not serve: waiting for an executor.
    private readonly ConcurrentDictionary<JobMessage, string> _unserved = new();

    public InProcessJobQueue()
        : this(null)
    {
    }

    public ValueTask EnqueueAsync(JobMessage message, CancellationToken cancellationToken = default)
    {
        Hold(message);
        return Route(message) ? _channel.Writer.WriteAsync(message, cancellationToken) : ValueTask.CompletedTask;
    }

    public void EnqueueLater(JobMessage message, TimeSpan delay)
    {
        Hold(message);
        if (!Route(message))
        {
            return;
        }
        if (delay <= TimeSpan.Zero)
        {
            _channel.Writer.TryWrite(message);
            return;
        }
        _ = Task.Delay(delay, _disposed.Token).ContinueWith(
            _ => _channel.Writer.TryWrite(message), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }

    /// <summary>True when this process runs the message; otherwise it is set aside (still held).</summary>
    private bool Route(JobMessage message)
    {
        if (_served.Matches(message.Handler))
        {
            return true;
        }
        _unserved[message] = message.Handler;
        return false;
    }

    public async ValueTask<JobDelivery> ReadAsync(CancellationToken cancellationToken) =>
        new(await _channel.Reader.ReadAsync(cancellationToken));

    public ValueTask AckAsync(JobDelivery delivery)
    {
        Unhold(delivery.Message);
        return ValueTask.CompletedTask;
    }

    public ValueTask TouchAsync(IReadOnlyCollection<JobDelivery> deliveries) => ValueTask.CompletedTask;

    public ValueTask<IReadOnlyList<JobMessage>> MissingAsync(IReadOnlyList<JobMessage> candidates) =>
        ValueTask.FromResult<IReadOnlyList<JobMessage>>([.. candidates.Where(m => !_held.ContainsKey(m))]);

    public ValueTask<long> DepthAsync() => ValueTask.FromResult((long)_channel.Reader.Count + _unserved.Count);

    /// <summary>The channel's messages are not counted per handler (that would cost the hot path a count per message); those set aside are.</summary>
    public ValueTask<IReadOnlyDictionary<string, long>> DepthByHandlerAsync() =>
        ValueTask.FromResult<IReadOnlyDictionary<string, long>>(_unserved.Values.GroupBy(h => h, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal));

    /// <summary>Counts a copy held elsewhere in this process (a resource lane), so recon does not send the message again.</summary>
    internal void Hold(JobMessage message) => _held.AddOrUpdate(message, 1, (_, n) => n + 1);

    /// <summary>The copy counted by <see cref="Hold"/> is gone (it moved back into the queue).</summary>
    internal void Unhold(JobMessage message)
    {
        if (_held.AddOrUpdate(message, 0, (_, n) => n - 1) <= 0)
        {
            _held.TryRemove(new KeyValuePair<JobMessage, int>(message, 0));
        }
    }

    public void Dispose()
    {
        _disposed.Cancel();
        _disposed.Dispose();
        _channel.Writer.TryComplete();
    }
}
