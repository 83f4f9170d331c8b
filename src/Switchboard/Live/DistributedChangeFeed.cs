using System.Threading.Channels;
using Switchboard.Observability;

namespace Switchboard.Live;

/// <summary>
/// What the distributed feeds (Redis pub/sub, PostgreSQL NOTIFY) share. <see cref="Publish"/>
/// runs on the commit's path: it hands the change to this process's hub at once and queues it
/// for the other processes (a bounded queue: when it is full the change is dropped and counted,
/// and the followers elsewhere see the row at their next change, never a wrong one). One loop
/// sends what waits as batches (<see cref="ChangeWire"/>), so a burst of a thousand changes is a
/// few messages, not a thousand. Received batches of other processes go to the hub's
/// <see cref="ChangeHub.Arrive"/>; this process's own come back too and are skipped by origin.
/// </summary>
public abstract class DistributedChangeFeed(ChangeHub hub, ILogger logger) : BackgroundService, IChangePublisher
{
    /// <summary>Changes waiting to be sent; beyond, new ones are dropped (switchboard_changes_dropped_total).</summary>
    public const int QueueCapacity = 65_536;

    /// <summary>Changes read from the queue for one round of sending.</summary>
    private const int RoundSize = 4096;

    private readonly Channel<RequestChange> _queue = Channel.CreateBounded<RequestChange>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private long _lastSendFailureLog;

    protected ChangeHub Hub => hub;

    /// <summary>This process in the feed's messages (unique per start).</summary>
    public string Origin { get; } = Guid.NewGuid().ToString("N")[..16];

    /// <summary>Largest message the transport takes, in UTF-8 bytes.</summary>
    protected abstract int MaxMessageBytes { get; }

    /// <summary>Sends one round's messages to every process (this one included).</summary>
    protected abstract Task SendAsync(IReadOnlyList<string> messages, CancellationToken cancellationToken);

    /// <summary>Keeps this process subscribed until <paramref name="stoppingToken"/>; <see cref="Received"/> for each message.</summary>
    protected abstract Task ListenAsync(CancellationToken stoppingToken);

    public void Publish(in RequestChange change)
    {
        hub.Deliver(change);
        if (!_queue.Writer.TryWrite(change))
        {
            SwitchboardMetrics.ChangesDropped.Inc();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // On the pool: opening the listening connection must not hold the host's start.
        var listening = Task.Run(() => ListenAsync(stoppingToken), CancellationToken.None);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                await SendRound(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: what the roles stopped before this one committed (released jobs) still goes out.
            using var last = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            while (_queue.Reader.Count > 0 && !last.IsCancellationRequested)
            {
                await SendRound(last.Token);
            }
        }
        await listening;
    }

    private async Task SendRound(CancellationToken cancellationToken)
    {
        var round = new List<RequestChange>();
        while (round.Count < RoundSize && _queue.Reader.TryRead(out var change))
        {
            round.Add(change);
        }
        try
        {
            await SendAsync(ChangeWire.Encode(Origin, round, MaxMessageBytes), cancellationToken);
            SwitchboardMetrics.ChangesPublished.Inc(round.Count);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            SwitchboardMetrics.ChangesDropped.Inc(round.Count);
            // Once per half minute: an outage fails every round.
            var now = Environment.TickCount64;
            if (_lastSendFailureLog == 0 || now - _lastSendFailureLog > 30_000)
            {
                _lastSendFailureLog = now;
                logger.LogWarning("The change feed could not send {Changes} changes: {Error}", round.Count, ex.Message);
            }
        }
    }

    /// <summary>One message from the transport: another process's changes go to the hub.</summary>
    protected void Received(string message)
    {
        if (ChangeWire.Decode(message) is not { } batch)
        {
            logger.LogWarning("The change feed received a message it cannot read ({Length} characters); ignored", message.Length);
            return;
        }
        if (batch.Origin == Origin)
        {
            return;
        }
        SwitchboardMetrics.ChangesReceived.Inc(batch.Changes.Count);
        foreach (var change in batch.Changes)
        {
            hub.Arrive(change);
        }
    }

    /// <summary>The subscription was lost and is back: changes may have been missed, so every follower reads its row.</summary>
    protected void Resubscribed()
    {
        SwitchboardMetrics.ChangeFeedReconnects.Inc();
        hub.WakeAll();
    }
}
