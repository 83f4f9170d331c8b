using System.Threading.Channels;

namespace Switchboard.Queue;

/// <summary>The embedded default's queue: an unbounded channel in this process.</summary>
public sealed class InProcessJobQueue : IJobQueue, IDisposable
{
    private readonly Channel<JobMessage> _channel = Channel.CreateUnbounded<JobMessage>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly CancellationTokenSource _disposed = new();

    public long Depth => _channel.Reader.Count;

    public ValueTask EnqueueAsync(JobMessage message, CancellationToken cancellationToken = default) =>
        _channel.Writer.WriteAsync(message, cancellationToken);

    public void EnqueueLater(JobMessage message, TimeSpan delay)
    {
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

    public ValueTask AckAsync(JobDelivery delivery) => ValueTask.CompletedTask;

    public void Dispose()
    {
        _disposed.Cancel();
        _disposed.Dispose();
        _channel.Writer.TryComplete();
    }
}
