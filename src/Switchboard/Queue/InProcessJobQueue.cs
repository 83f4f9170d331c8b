using System.Collections.Concurrent;
using System.Threading.Channels;
using Switchboard.Fairness;

namespace Switchboard.Queue;

/// <summary>
/// The embedded default's queue, in this process: waiting messages in a <see cref="FairOrder{T}"/>
/// (per-user weighted round-robin within a priority, higher priorities first, with aging; first
/// in first out when <c>Fair</c> is off) under one lock, and readers that wait when it is empty.
/// There is one process, so routing is a filter: messages of the handlers this process serves
/// (<c>serve --handlers</c>; all without it) go to the order; the others wait aside, held (so
/// recon does not send them again), for an executor that never comes to a SQLite store; recon
/// fails them with <c>no_executor</c> after the maximum wait (their entry here stays until the
/// process ends: one small entry per such request, in a configuration that is a mistake on one
/// process).
/// </summary>
public sealed class InProcessJobQueue : IJobQueue, IDisposable
{
    private readonly FairOrder<JobMessage> _order;
    private readonly object _lock = new();

    // Readers waiting for a message, oldest first; only while the order is empty.
    private readonly LinkedList<Reader> _readers = new();
    private readonly CancellationTokenSource _disposed = new();
    private readonly HandlerPatterns _served;
    private bool _closed;

    // Copies of a message enqueued while one already waits in the order (which holds each once):
    // delivered one after another, each counted in the depth (the contract counts every copy).
    private readonly Dictionary<JobMessage, int> _copies = [];

    // Jobs a resource lane woke: they hold the slot reserved for them, so they go before the
    // fair order (which already chose them in the lane), first in first out.
    private readonly Queue<JobMessage> _woken = new();
    private int _copyCount;

    // Copies of each message held (waiting, delayed, or delivered and not acked).
    private readonly ConcurrentDictionary<JobMessage, int> _held = new();

    // Messages of handlers this process does not serve: waiting for an executor.
    private readonly ConcurrentDictionary<JobMessage, string> _unserved = new();

    public InProcessJobQueue()
        : this(null)
    {
    }

    /// <param name="served">The handlers this process runs (null: all).</param>
    /// <param name="fair">False: first in first out, priorities ignored (the order before issue 22).</param>
    /// <param name="ageStep">How long a priority level waits before it counts one higher.</param>
    public InProcessJobQueue(HandlerPatterns? served, bool fair = true, TimeSpan? ageStep = null)
    {
        _served = served ?? HandlerPatterns.All;
        _order = new FairOrder<JobMessage>(fair, ageStep);
    }

    // Aging counts elapsed time, so the monotonic clock: a wall-clock step must not age or freeze a level.
    private static long Now() => Environment.TickCount64;

    public ValueTask EnqueueAsync(JobMessage message, CancellationToken cancellationToken = default)
    {
        Hold(message);
        if (Route(message))
        {
            Add(message, first: false);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Due, the message goes back at the head of its flow: a retry or an early claim keeps its user's turn, not a place behind its backlog.</summary>
    public void EnqueueLater(JobMessage message, TimeSpan delay)
    {
        Hold(message);
        if (!Route(message))
        {
            return;
        }
        if (delay <= TimeSpan.Zero)
        {
            Add(message, first: true);
            return;
        }
        _ = Task.Delay(delay, _disposed.Token).ContinueWith(
            _ => Add(message, first: true), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }

    /// <summary>
    /// A job a resource lane woke (Resources/InProcessResourceGate.cs): delivered before every job
    /// of the fair order, since its slot is reserved and the lane's order already gave it its turn.
    /// </summary>
    internal void EnqueueWoken(JobMessage message)
    {
        Hold(message);
        if (!Route(message))
        {
            return;
        }
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }
            _woken.Enqueue(message);
            Hand(Now());
        }
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

    // Into the order, then straight to a waiting reader if there is one (readers wait only when
    // the order is empty, so the message taken is the one just added, or one ahead of it).
    private void Add(JobMessage message, bool first)
    {
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }
            var now = Now();
            var user = message.UserId ?? string.Empty;
            var added = first
                ? _order.EnqueueFirst(message, user, message.Priority, message.Weight, now)
                : _order.Enqueue(message, user, message.Priority, message.Weight, now);
            if (!added)
            {
                _copies[message] = _copies.GetValueOrDefault(message) + 1;
                _copyCount++;
            }
            Hand(now);
        }
    }

    // Waiting readers get the next messages. Under the lock.
    private void Hand(long now)
    {
        while (_readers.First is { } node && TryTake(now, out var next))
        {
            _readers.RemoveFirst();
            // Completed under the lock, so a cancel cannot race it; the reader continues on
            // the thread pool (RunContinuationsAsynchronously), not inside this lock.
            node.Value.TrySetResult(next);
        }
    }

    // The next message; a further copy of it takes its place at the head of its flow. Under the lock.
    private bool TryTake(long now, out JobMessage message)
    {
        if (_woken.TryDequeue(out message))
        {
            return true;
        }
        if (!_order.TryDequeue(now, out message))
        {
            return false;
        }
        if (_copyCount > 0 && _copies.TryGetValue(message, out var copies))
        {
            if (copies == 1)
            {
                _copies.Remove(message);
            }
            else
            {
                _copies[message] = copies - 1;
            }
            _copyCount--;
            _order.EnqueueFirst(message, message.UserId ?? string.Empty, message.Priority, message.Weight, now);
        }
        return true;
    }

    /// <summary>The next message in the fair order; without one, waits (cancellable) for the next enqueue.</summary>
    public ValueTask<JobDelivery> ReadAsync(CancellationToken cancellationToken)
    {
        Reader reader;
        lock (_lock)
        {
            if (TryTake(Now(), out var message))
            {
                return ValueTask.FromResult(new JobDelivery(message));
            }
            if (_closed)
            {
                return ValueTask.FromException<JobDelivery>(new ChannelClosedException());
            }
            cancellationToken.ThrowIfCancellationRequested();
            reader = new Reader();
            reader.Node = _readers.AddLast(reader);
        }
        reader.Owner = this;
        if (cancellationToken.CanBeCanceled)
        {
            reader.Registration = cancellationToken.UnsafeRegister(static (state, token) => ((Reader)state!).Owner!.Cancel((Reader)state!, token), reader);
        }
        return Awaited(reader);
    }

    // The registration is disposed once the wait ends, however it ends: a reader's token (the
    // executor's stopping token) lives as long as the process.
    private static async ValueTask<JobDelivery> Awaited(Reader reader)
    {
        try
        {
            return new(await reader.Task.ConfigureAwait(false));
        }
        finally
        {
            await reader.Registration.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Cancel(Reader reader, CancellationToken token)
    {
        lock (_lock)
        {
            if (reader.Node?.List is null)
            {
                return; // already given a message (or closed)
            }
            _readers.Remove(reader.Node);
            reader.TrySetCanceled(token);
        }
    }

    public ValueTask AckAsync(JobDelivery delivery)
    {
        Unhold(delivery.Message);
        return ValueTask.CompletedTask;
    }

    public ValueTask TouchAsync(IReadOnlyCollection<JobDelivery> deliveries) => ValueTask.CompletedTask;

    public ValueTask<IReadOnlyList<JobMessage>> MissingAsync(IReadOnlyList<JobMessage> candidates) =>
        ValueTask.FromResult<IReadOnlyList<JobMessage>>([.. candidates.Where(m => !_held.ContainsKey(m))]);

    /// <summary>From the order's own bookkeeping (<see cref="FairOrder{T}.PositionOf"/>); null when not waiting here.</summary>
    public ValueTask<long?> PositionAsync(JobMessage message)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_order.PositionOf(message, Now()));
        }
    }

    public ValueTask<long> DepthAsync()
    {
        lock (_lock)
        {
            return ValueTask.FromResult((long)_order.Count + _woken.Count + _copyCount + _unserved.Count);
        }
    }

    /// <summary>The order's messages are not counted per handler (that would cost the hot path a count per message); those set aside are.</summary>
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

    /// <summary>Waiting readers then fail as a closed channel did (the executor takes that as the end).</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }
            _closed = true;
            foreach (var reader in _readers)
            {
                reader.TrySetException(new ChannelClosedException());
            }
            _readers.Clear();
        }
        _disposed.Cancel();
        _disposed.Dispose();
    }

    private sealed class Reader() : TaskCompletionSource<JobMessage>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public LinkedListNode<Reader>? Node;
        public CancellationTokenRegistration Registration;
        public InProcessJobQueue? Owner;
    }
}
