using System.Threading.Channels;

namespace Switchboard.Live;

/// <summary>
/// This process's followers of requests (status sockets, event streams), by request id. The
/// change feed delivers every change committed anywhere here (<see cref="Deliver"/>); a change of
/// a request nobody here follows costs one dictionary lookup. Nothing polls: a follower waits
/// on its <see cref="ChangeSubscription"/> until a change of its request arrives.
/// </summary>
public sealed class ChangeHub
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<ChangeSubscription>> _followers = new(StringComparer.Ordinal);

    /// <summary>Requests followed here now.</summary>
    public int Followed
    {
        get
        {
            lock (_lock)
            {
                return _followers.Count;
            }
        }
    }

    /// <summary>Starts following <paramref name="requestId"/>; dispose the subscription to stop.</summary>
    public ChangeSubscription Subscribe(string requestId)
    {
        var subscription = new ChangeSubscription(this, requestId);
        lock (_lock)
        {
            if (!_followers.TryGetValue(requestId, out var list))
            {
                _followers[requestId] = list = [];
            }
            list.Add(subscription);
        }
        return subscription;
    }

    /// <summary>Hands a committed change to the followers of its request. Never blocks.</summary>
    public void Deliver(in RequestChange change)
    {
        lock (_lock)
        {
            if (_followers.TryGetValue(change.RequestId, out var list))
            {
                foreach (var subscription in list)
                {
                    subscription.Offer(change);
                }
            }
        }
    }

    /// <summary>
    /// A change the feed brought from another process, after it was delivered to this
    /// process's followers. The executor's cancel follower listens here: a change committed in
    /// this process reaches it through the lifecycle's own observers instead.
    /// </summary>
    public event Action<RequestChange>? Arrived;

    /// <summary>A change from another process: delivered to the followers, then to <see cref="Arrived"/>. Never blocks.</summary>
    public void Arrive(in RequestChange change)
    {
        Deliver(change);
        Arrived?.Invoke(change);
    }

    /// <summary>
    /// Every follower reads its request again: after the feed may have missed changes (its
    /// connection to Redis or PostgreSQL was lost and is back).
    /// </summary>
    public void WakeAll()
    {
        lock (_lock)
        {
            foreach (var (id, list) in _followers)
            {
                foreach (var subscription in list)
                {
                    subscription.Offer(new RequestChange(id, ChangeKind.Status));
                }
            }
        }
    }

    internal void Remove(ChangeSubscription subscription)
    {
        lock (_lock)
        {
            if (_followers.TryGetValue(subscription.RequestId, out var list) && list.Remove(subscription) && list.Count == 0)
            {
                _followers.Remove(subscription.RequestId);
            }
        }
    }
}

/// <summary>
/// One follower's changes of one request, in the order they arrived. Status and progress changes
/// coalesce (at most one of each waits: the follower reads the row once for any number of them),
/// partial output waits up to <see cref="MaxPartials"/> pieces and is dropped beyond (a follower
/// that cannot keep up loses deltas, never a status; the final result carries the whole output).
/// So a subscription holds a bounded amount whatever the producer does.
/// </summary>
public sealed class ChangeSubscription : IDisposable
{
    /// <summary>Partial pieces kept for a follower that has not read them yet.</summary>
    public const int MaxPartials = 256;

    private readonly ChangeHub _hub;
    private readonly Channel<RequestChange> _changes = Channel.CreateUnbounded<RequestChange>(new UnboundedChannelOptions { SingleReader = true });
    private int _statusWaiting;
    private int _progressWaiting;
    private int _partialsWaiting;
    private long _partialsDropped;

    internal ChangeSubscription(ChangeHub hub, string requestId) => (_hub, RequestId) = (hub, requestId);

    public string RequestId { get; }

    /// <summary>Partial pieces dropped because this follower was behind.</summary>
    public long PartialsDropped => Interlocked.Read(ref _partialsDropped);

    internal void Offer(in RequestChange change)
    {
        switch (change.Kind)
        {
            case ChangeKind.Status when Interlocked.Exchange(ref _statusWaiting, 1) == 0:
            case ChangeKind.Progress when Interlocked.Exchange(ref _progressWaiting, 1) == 0:
                _changes.Writer.TryWrite(change);
                break;
            case ChangeKind.Partial when Interlocked.Increment(ref _partialsWaiting) <= MaxPartials:
                _changes.Writer.TryWrite(change);
                break;
            case ChangeKind.Partial:
                Interlocked.Decrement(ref _partialsWaiting);
                Interlocked.Increment(ref _partialsDropped);
                break;
        }
    }

    /// <summary>
    /// The next change. A status or progress change is handed out before its flag is cleared, so
    /// a change committed while the follower reads the row wakes it again.
    /// </summary>
    public async ValueTask<RequestChange> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TryRead(out var change))
            {
                return change;
            }
            await _changes.Reader.WaitToReadAsync(cancellationToken);
        }
    }

    /// <summary>True when a change waits (a follower may drain them before it writes once).</summary>
    public bool TryRead(out RequestChange change)
    {
        if (!_changes.Reader.TryRead(out change))
        {
            return false;
        }
        switch (change.Kind)
        {
            case ChangeKind.Status:
                Volatile.Write(ref _statusWaiting, 0);
                break;
            case ChangeKind.Progress:
                Volatile.Write(ref _progressWaiting, 0);
                break;
            default:
                Interlocked.Decrement(ref _partialsWaiting);
                break;
        }
        return true;
    }

    public void Dispose() => _hub.Remove(this);
}
