using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Switchboard.Queue;

/// <summary>The embedded default's queue: an unbounded channel in this process.</summary>
public sealed class InProcessJobQueue : IJobQueue, IDisposable
{
    private readonly Channel<JobMessage> _channel = Channel.CreateUnbounded<JobMessage>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly CancellationTokenSource _disposed = new();

    // Copies of each message held (waiting, delayed, or delivered and not acked).
    private readonly ConcurrentDictionary<JobMessage, int> _held = new();

    public ValueTask EnqueueAsync(JobMessage message, CancellationToken cancellationToken = default)
    {
        Hold(message);
        return _channel.Writer.WriteAsync(message, cancellationToken);
    }

    public void EnqueueLater(JobMessage message, TimeSpan delay)
    {
        Hold(message);
        if (delay <= TimeSpan.Zero)
        {
            _channel.Writer.TryWrite(message);
            return;
        }
        _ = Task.Delay(delay, _disposed.Token).ContinueWith(
            _ => _channel.Writer.TryWrite(message), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
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

    public ValueTask<long> DepthAsync() => ValueTask.FromResult((long)_channel.Reader.Count);

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
