namespace Switchboard.Fairness;

/// <summary>
/// The order in which waiting jobs leave a queue or a resource's lane when several users share
/// it: strict priority between levels, with aging, and weighted round-robin between users within
/// a level. Not thread-safe: its owner (the in-process queue, the in-process gate) holds a lock.
/// The Redis queue and lanes keep the same rule in Lua; a change here is a change there.
/// <para>
/// A flow is one user's jobs at one priority, first in first out. Each flow has a pass; the next
/// job is the head of the flow with the lowest (pass, user) in the level that goes first, and
/// serving it adds the flow's stride (<see cref="Scale"/> ÷ weight) to its pass (stride
/// scheduling: deterministic weighted round-robin, a user of weight 2 gets two turns for every
/// one of a user of weight 1). A flow that starts (or starts again after it emptied) takes
/// <c>max(virtual time, where it left off)</c>, the virtual time being the highest pass served
/// so far in its level (per level: passes of different levels are never compared, and a level
/// served less would otherwise put its newcomers behind its own backlogs): a user with a backlog
/// of any length is ahead of a newcomer by at most one turn, and a user cannot gain turns by
/// emptying and refilling its flow.
/// </para>
/// <para>
/// Passes grow without end, but those of a level's live flows lie within one weight-1 stride
/// (<see cref="Scale"/>) of its virtual time; when that passes <see cref="RebaseAt"/> the level's
/// passes are all lowered by it (order unchanged), so they stay exact: below 2^62 here, and below
/// 2^53 in Lua, whose numbers are doubles (the Redis lanes rebase at <c>2^52</c>).
/// </para>
/// <para>
/// Levels: a level's effective priority is its own plus one per <c>ageStep</c> since it was last
/// served (or since it had a job, if later), at most <see cref="Priorities.Max"/>; the level with
/// the highest effective priority goes first (ties: the one that waited longer, then the higher own
/// priority). So a level that
/// waits reaches the top and is served at least once per <c>(Max − priority) × ageStep</c>.
/// </para>
/// <para>Unfair (<c>fair: false</c>): one flow, first in first out, priorities ignored: the order before issue 22.</para>
/// </summary>
public sealed class FairOrder<T>
    where T : notnull
{
    /// <summary>A weight-1 flow's stride: divisible by every weight from 1 to 16, so common weights have exact strides.</summary>
    public const long Scale = 720_720L * 1_000_000;

    /// <summary>The largest weight: a higher one is taken as this.</summary>
    public const int MaxWeight = 1_000_000;

    /// <summary>A level's virtual time at which its passes are lowered by it (a long holds twice this).</summary>
    public const long RebaseAt = 1L << 62;

    private readonly bool _fair;
    private readonly long _ageStepMs;
    private readonly Level[] _levels = new Level[Priorities.Max + 1];
    private readonly Dictionary<T, LinkedListNode<Entry>> _entries;

    // Where flows that emptied left off, so they cannot gain a turn by refilling; pruned of those
    // the virtual time has passed (they would start there anyway).
    private readonly Dictionary<(int Priority, string User), long> _leftOff = [];

    public FairOrder(bool fair = true, TimeSpan? ageStep = null, IEqualityComparer<T>? comparer = null)
    {
        _fair = fair;
        _ageStepMs = Math.Max(1, (long)(ageStep ?? TimeSpan.FromSeconds(30)).TotalMilliseconds);
        _entries = new Dictionary<T, LinkedListNode<Entry>>(comparer);
        for (var p = 0; p < _levels.Length; p++)
        {
            _levels[p] = new Level(p);
        }
    }

    public int Count => _entries.Count;

    public bool Contains(T item) => _entries.ContainsKey(item);

    /// <summary>Adds <paramref name="item"/> at the end of its user's flow at <paramref name="priority"/>; false if it is already here.</summary>
    public bool Enqueue(T item, string user, int priority, int weight, long nowMs) => Add(item, user, priority, weight, nowMs, first: false);

    /// <summary>Adds <paramref name="item"/> at the head of its flow: a job that was taken and comes back (a redelivery, a retry) keeps its place.</summary>
    public bool EnqueueFirst(T item, string user, int priority, int weight, long nowMs) => Add(item, user, priority, weight, nowMs, first: true);

    /// <summary>The job that goes next, without taking it.</summary>
    public bool TryPeek(long nowMs, out T item)
    {
        var flow = Next(nowMs);
        item = flow is null ? default! : flow.Items.First!.Value.Item;
        return flow is not null;
    }

    /// <summary>Takes the job that goes next.</summary>
    public bool TryDequeue(long nowMs, out T item)
    {
        var flow = Next(nowMs);
        if (flow is null)
        {
            item = default!;
            return false;
        }
        item = flow.Items.First!.Value.Item;
        var level = _levels[flow.Priority];
        level.Flows.Remove(flow);
        level.VirtualTime = Math.Max(level.VirtualTime, flow.Pass);
        flow.Pass += flow.Stride;
        level.SinceMs = nowMs;
        RemoveEntry(item, flow);
        if (level.VirtualTime >= RebaseAt)
        {
            Rebase(level);
        }
        return true;
    }

    /// <summary>Takes <paramref name="item"/> out wherever it is (a cancelled job); false if it is not here.</summary>
    public bool Remove(T item)
    {
        if (!_entries.TryGetValue(item, out var node))
        {
            return false;
        }
        var flow = node.Value.Flow;
        _levels[flow.Priority].Flows.Remove(flow);
        RemoveEntry(item, flow);
        return true;
    }

    /// <summary>
    /// How many jobs go before <paramref name="item"/> if nothing else arrives and no level ages
    /// (null if it is not here): those of levels ahead of its level, those ahead of it in its flow,
    /// and each other flow of its level's turns before its turn (from the flow's pass, stride and
    /// length, without walking it).
    /// </summary>
    public long? PositionOf(T item, long nowMs)
    {
        if (!_entries.TryGetValue(item, out var node))
        {
            return null;
        }
        var flow = node.Value.Flow;
        var index = flow.IndexOf(node.Value);
        var level = _levels[flow.Priority];
        var effective = Effective(level, nowMs);
        long ahead = index;
        foreach (var other in _levels)
        {
            if (other != level && other.Count > 0 && Before(other, Effective(other, nowMs), level, effective))
            {
                ahead += other.Count;
            }
        }
        var turn = flow.Pass + (index * flow.Stride);
        foreach (var g in level.Flows)
        {
            if (g != flow)
            {
                ahead += TurnsBefore(turn, flow.User, g.Pass, g.Stride, g.User, g.Items.Count);
            }
        }
        return ahead;
    }

    /// <summary>
    /// How many of another flow's jobs (<paramref name="user"/>'s, from <paramref name="pass"/> by
    /// <paramref name="stride"/>, <paramref name="length"/> of them) go before the job whose turn is at
    /// <paramref name="turn"/> in <paramref name="of"/>'s flow of the same level. Shared with the Redis
    /// lanes, whose Lua hands the flows over and leaves this sum to exact integers.
    /// </summary>
    public static long TurnsBefore(long turn, string of, long pass, long stride, string user, long length)
    {
        if (pass > turn)
        {
            return 0;
        }
        // The k-th job has pass + k × stride; it goes first while that is below turn, or equal
        // with a lower user (the tie-break of the order).
        var span = turn - pass;
        var turns = (span / stride) + 1;
        if (span % stride == 0 && string.CompareOrdinal(user, of) > 0)
        {
            turns--;
        }
        return Math.Min(length, turns);
    }

    /// <summary>The jobs waiting per priority (for the admin view).</summary>
    public IReadOnlyDictionary<int, int> CountByPriority() =>
        _levels.Where(l => l.Count > 0).ToDictionary(l => l.Priority, l => l.Count);

    private bool Add(T item, string user, int priority, int weight, long nowMs, bool first)
    {
        if (_entries.ContainsKey(item))
        {
            return false;
        }
        if (!_fair)
        {
            (user, priority, weight) = (string.Empty, Priorities.Default, 1);
        }
        priority = Priorities.Clamp(priority);
        var level = _levels[priority];
        var stride = Scale / Math.Clamp(weight, 1, MaxWeight);
        if (!level.ByUser.TryGetValue(user, out var flow))
        {
            var start = level.VirtualTime;
            if (_leftOff.Remove((priority, user), out var leftOff))
            {
                start = Math.Max(start, leftOff);
            }
            flow = new Flow(user, priority) { Pass = start };
            level.ByUser[user] = flow;
            level.Flows.Add(flow);
        }
        if (level.Count == 0)
        {
            level.SinceMs = nowMs;
        }
        flow.Stride = stride;
        _entries[item] = flow.Add(item, first);
        level.Count++;
        return true;
    }

    // Takes item's entry out of flow, whose level no longer holds it in its sorted set; puts the
    // flow back in that set if it still has jobs, else forgets it (remembering where it left off).
    private void RemoveEntry(T item, Flow flow)
    {
        var level = _levels[flow.Priority];
        flow.Remove(_entries[item]);
        _entries.Remove(item);
        level.Count--;
        if (flow.Items.Count > 0)
        {
            level.Flows.Add(flow);
            return;
        }
        level.ByUser.Remove(flow.User);
        if (flow.Pass > level.VirtualTime)
        {
            _leftOff[(flow.Priority, flow.User)] = flow.Pass;
        }
        if (_leftOff.Count > 1024)
        {
            foreach (var key in _leftOff.Where(e => e.Value <= _levels[e.Key.Priority].VirtualTime).Select(e => e.Key).ToList())
            {
                _leftOff.Remove(key);
            }
        }
    }

    // Lowers every pass of the level by its virtual time: the same shift for all keeps the sorted
    // set's order (so it is done in place), and where flows left off below it are forgotten (they
    // would start at the virtual time anyway).
    private void Rebase(Level level)
    {
        var by = level.VirtualTime;
        foreach (var flow in level.Flows)
        {
            flow.Pass -= by;
        }
        foreach (var key in _leftOff.Keys.Where(k => k.Priority == level.Priority).ToList())
        {
            if (_leftOff[key] <= by)
            {
                _leftOff.Remove(key);
            }
            else
            {
                _leftOff[key] -= by;
            }
        }
        level.VirtualTime = 0;
    }

    private Flow? Next(long nowMs)
    {
        Level? best = null;
        var bestEffective = -1;
        foreach (var level in _levels)
        {
            if (level.Count == 0)
            {
                continue;
            }
            var effective = Effective(level, nowMs);
            if (best is null || Before(level, effective, best, bestEffective))
            {
                (best, bestEffective) = (level, effective);
            }
        }
        return best?.Flows.Min;
    }

    private int Effective(Level level, long nowMs) =>
        (int)Math.Min(Priorities.Max, level.Priority + (Math.Max(0, nowMs - level.SinceMs) / _ageStepMs));

    // Ties of effective priority go to the level that waited longer, then to the higher own priority.
    private static bool Before(Level level, int effective, Level other, int otherEffective) =>
        effective != otherEffective ? effective > otherEffective
        : level.SinceMs != other.SinceMs ? level.SinceMs < other.SinceMs
        : level.Priority > other.Priority;

    /// <param name="Seq">Its place in its flow: consecutive along the flow but for the holes the flow keeps.</param>
    private sealed record Entry(T Item, Flow Flow, long Seq);

    private sealed class Flow(string user, int priority)
    {
        public string User { get; } = user;

        public int Priority { get; } = priority;

        public long Pass { get; set; }

        public long Stride { get; set; } = Scale;

        public LinkedList<Entry> Items { get; } = new();

        // Seqs of entries taken from the middle of the flow (a cancelled job), above the head's:
        // an entry's index is its distance from the head less the holes between (PositionOf
        // without walking a flow that may hold 10⁵ jobs, under the queue's lock).
        private readonly SortedSet<long> _holes = [];

        public LinkedListNode<Entry> Add(T item, bool first) => first
            ? Items.AddFirst(new Entry(item, this, Items.First is { } head ? head.Value.Seq - 1 : 0))
            : Items.AddLast(new Entry(item, this, Items.Last is { } tail ? tail.Value.Seq + 1 : 0));

        public void Remove(LinkedListNode<Entry> node)
        {
            if (node == Items.First)
            {
                Items.Remove(node);
                if (_holes.Count > 0)
                {
                    _holes.RemoveWhere(h => Items.First is not { } head || h < head.Value.Seq);
                }
                return;
            }
            if (node != Items.Last)
            {
                _holes.Add(node.Value.Seq);
                Items.Remove(node);
                return;
            }
            Items.Remove(node);
            // The tail's seq is given again to the next job added at the end: no hole above it.
            if (_holes.Count > 0)
            {
                _holes.RemoveWhere(h => h > Items.Last!.Value.Seq);
            }
        }

        public long IndexOf(Entry entry)
        {
            var head = Items.First!.Value.Seq;
            var index = entry.Seq - head;
            return _holes.Count == 0 || index == 0 ? index : index - _holes.GetViewBetween(head, entry.Seq).Count;
        }
    }

    private sealed class Level(int priority)
    {
        public int Priority { get; } = priority;

        public int Count { get; set; }

        public long SinceMs { get; set; }

        public long VirtualTime { get; set; }

        public Dictionary<string, Flow> ByUser { get; } = new(StringComparer.Ordinal);

        public SortedSet<Flow> Flows { get; } = new(Comparer<Flow>.Create(static (a, b) =>
        {
            var c = a.Pass.CompareTo(b.Pass);
            return c != 0 ? c : string.CompareOrdinal(a.User, b.User);
        }));
    }
}
