using System.Threading.Channels;

namespace Switchboard.Queue;

/// <summary>
/// Hands fetched deliveries to waiting workers, and says exactly how many workers wait for one
/// (<see cref="Demand"/>): a delivery goes straight to a waiter under the same lock that counts
/// them, so the fetch loop never sees a worker that was just served as still waiting, and never
/// fetches more than the workers can take.
/// </summary>
internal sealed class DeliveryHandoff(Action onWaiter)
{
    private readonly Lock _lock = new();
    private readonly LinkedList<TaskCompletionSource<JobDelivery>> _waiters = new();

    // Deliveries no waiter took: fetched for a worker that gave up (its read was cancelled).
    private readonly Queue<JobDelivery> _unread = new();
    private bool _closed;

    /// <summary>Workers waiting that no fetched delivery covers.</summary>
    public int Demand
    {
        get
        {
            lock (_lock)
            {
                return _waiters.Count - _unread.Count;
            }
        }
    }

    public async ValueTask<JobDelivery> TakeAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        TaskCompletionSource<JobDelivery> waiter;
        LinkedListNode<TaskCompletionSource<JobDelivery>> node;
        lock (_lock)
        {
            if (_closed)
            {
                throw new ChannelClosedException();
            }
            if (_unread.TryDequeue(out var ready))
            {
                return ready;
            }
            waiter = new TaskCompletionSource<JobDelivery>(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _waiters.AddLast(waiter);
        }
        onWaiter();
        await using (cancellationToken.Register(() => Abandon(node)))
        {
            // Served before the cancellation took effect: the delivery is returned, not lost.
            return await waiter.Task;
        }
    }

    /// <summary>Gives a fetched delivery to the longest-waiting worker, or keeps it for the next one.</summary>
    public void Offer(JobDelivery delivery)
    {
        lock (_lock)
        {
            if (_waiters.First is { } first)
            {
                _waiters.RemoveFirst();
                first.Value.TrySetResult(delivery);
                return;
            }
            _unread.Enqueue(delivery);
        }
    }

    /// <summary>Ends the hand-off: waiters get <see cref="ChannelClosedException"/> (as from a closed in-process queue); returns the deliveries nobody took.</summary>
    public List<JobDelivery> Close()
    {
        lock (_lock)
        {
            _closed = true;
            foreach (var waiter in _waiters)
            {
                waiter.TrySetException(new ChannelClosedException());
            }
            _waiters.Clear();
            var unread = _unread.ToList();
            _unread.Clear();
            return unread;
        }
    }

    private void Abandon(LinkedListNode<TaskCompletionSource<JobDelivery>> node)
    {
        lock (_lock)
        {
            if (node.List is null)
            {
                return;
            }
            _waiters.Remove(node);
        }
        node.Value.TrySetCanceled();
    }
}
