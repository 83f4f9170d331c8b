using Switchboard.Config;
using Switchboard.Queue;
using Switchboard.Storage;
using Switchboard.Fairness;

namespace Switchboard.Resources;

/// <summary>
/// The embedded default's gate: the same rules as the Redis one, kept in this process (one
/// process runs every job, so its memory is the whole truth; a restart forgets slots and lanes,
/// and recon sends the queued jobs again). Each lane is a <see cref="FairOrder{T}"/> of the
/// parked messages (by their user, priority and weight; one FIFO flow when <paramref name="fair"/> is off).
/// </summary>
public sealed class InProcessResourceGate(InProcessJobQueue queue, bool fair = true, TimeSpan? ageStep = null) : IResourceGate
{
    private sealed class State(bool fair, TimeSpan? ageStep)
    {
        public readonly Dictionary<string, long> Holders = new(StringComparer.Ordinal); // job → lease end (ms)
        public readonly FairOrder<JobMessage> Lane = new(fair, ageStep);
        public readonly Dictionary<JobMessage, long> Credits = []; // parked job → the credits it takes
        public long Tat;
        public long Window = -1;
        public long Spent;
        public double AverageRunMs = 1000;
    }

    private readonly Dictionary<string, State> _states = new(StringComparer.Ordinal);

    private State For(string name)
    {
        if (!_states.TryGetValue(name, out var state))
        {
            _states[name] = state = new State(fair, ageStep);
        }
        return state;
    }

    public ValueTask<GateAnswer> TryAcquireAsync(ResourceNeed need, JobMessage job)
    {
        lock (_states)
        {
            var state = For(need.Name);
            var now = Clock.NowMs();
            var key = job.ToString();
            if (state.Holders.ContainsKey(key))
            {
                state.Holders[key] = now + need.Spec.LeaseSeconds * 1000L;
                return ValueTask.FromResult(new GateAnswer(true, TimeSpan.Zero));
            }
            if (state.Lane.Count > 0)
            {
                return ValueTask.FromResult(new GateAnswer(false, TimeSpan.Zero, GateWait.Lane));
            }
            return ValueTask.FromResult(Take(state, need.Spec, key, need.Credits, now));
        }
    }

    /// <summary>Slot, rate token and credits together, or nothing; see <see cref="IResourceGate"/>.</summary>
    private static GateAnswer Take(State state, ResourceSpec spec, string job, long credits, long now)
    {
        foreach (var expired in state.Holders.Where(h => h.Value <= now).Select(h => h.Key).ToList())
        {
            state.Holders.Remove(expired);
        }
        if (spec.MaxConcurrent is { } slots && state.Holders.Count >= slots)
        {
            return new GateAnswer(false, TimeSpan.FromMilliseconds(Math.Max(1, state.Holders.Values.Min() - now)), GateWait.Slot);
        }
        var interval = GateMath.IntervalMs(spec);
        if (interval > 0 && state.Tat - GateMath.ToleranceMs(spec) > now)
        {
            return new GateAnswer(false, TimeSpan.FromMilliseconds(state.Tat - GateMath.ToleranceMs(spec) - now), GateWait.Rate);
        }
        var period = GateMath.PeriodMs(spec);
        var window = now / period * period;
        if (window != state.Window)
        {
            (state.Window, state.Spent) = (window, 0);
        }
        if (spec.Credits is { } budget && state.Spent + credits > budget)
        {
            return new GateAnswer(false, TimeSpan.FromMilliseconds(window + period - now), GateWait.Budget);
        }
        state.Holders[job] = now + spec.LeaseSeconds * 1000L;
        if (interval > 0)
        {
            state.Tat = Math.Max(state.Tat, now) + interval;
        }
        state.Spent += credits;
        return new GateAnswer(true, TimeSpan.Zero);
    }

    public ValueTask ParkAsync(ResourceNeed need, JobMessage job)
    {
        lock (_states)
        {
            var state = For(need.Name);
            if (state.Lane.Enqueue(job, job.UserId ?? string.Empty, job.Priority, job.Weight, Clock.NowMs()))
            {
                state.Credits[job] = need.Credits;
                queue.Hold(job);
            }
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask ReleaseAsync(ResourceNeed need, JobMessage job, TimeSpan? ran)
    {
        lock (_states)
        {
            var state = For(need.Name);
            state.Holders.Remove(job.ToString());
            if (ran is { } time)
            {
                state.AverageRunMs = state.AverageRunMs * 0.8 + time.TotalMilliseconds * 0.2;
            }
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask RenewAsync(IReadOnlyCollection<(ResourceNeed Need, JobMessage Job)> held)
    {
        lock (_states)
        {
            var now = Clock.NowMs();
            foreach (var (need, job) in held)
            {
                var state = For(need.Name);
                if (state.Holders.ContainsKey(job.ToString()))
                {
                    state.Holders[job.ToString()] = now + need.Spec.LeaseSeconds * 1000L;
                }
            }
        }
        return ValueTask.CompletedTask;
    }

    public async ValueTask<TimeSpan?> WakeAsync(IReadOnlyCollection<ResourceSpec> resources)
    {
        var woken = new List<JobMessage>();
        TimeSpan? next = null;
        lock (_states)
        {
            var now = Clock.NowMs();
            foreach (var (name, state) in _states.Where(s => s.Value.Lane.Count > 0 && resources.All(r => r.Name != s.Key)))
            {
                // The resource left the map: its jobs run ungated now.
                while (state.Lane.TryDequeue(now, out var job))
                {
                    state.Credits.Remove(job);
                    woken.Add(job);
                }
            }
            foreach (var spec in resources)
            {
                if (!_states.TryGetValue(spec.Name, out var state))
                {
                    continue;
                }
                // The fair order's next job, as long as there is capacity for it (peeked and taken
                // at one time, so aging cannot change which one between the two).
                while (state.Lane.TryPeek(now, out var job))
                {
                    var answer = Take(state, spec, job.ToString(), state.Credits[job], now);
                    if (!answer.Acquired)
                    {
                        next = next is null || answer.RetryAfter < next ? answer.RetryAfter : next;
                        break;
                    }
                    state.Lane.TryDequeue(now, out _);
                    state.Credits.Remove(job);
                    woken.Add(job);
                }
            }
        }
        foreach (var message in woken)
        {
            // The lane's copy moves to the queue, ahead of its fair order (the lane gave it its
            // turn, and its slot is reserved): counted once more there, once less here.
            queue.EnqueueWoken(message);
            queue.Unhold(message);
        }
        return next;
    }

    public ValueTask<LanePosition?> PositionAsync(ResourceNeed need, JobMessage job)
    {
        lock (_states)
        {
            var now = Clock.NowMs();
            if (!_states.TryGetValue(need.Name, out var state) || state.Lane.PositionOf(job, now) is not { } ahead)
            {
                return ValueTask.FromResult<LanePosition?>(null);
            }
            var position = ahead + 1;
            return ValueTask.FromResult<LanePosition?>(new LanePosition(position, GateMath.Eta(need.Spec, position, state.AverageRunMs, BudgetWait(state, need, now))));
        }
    }

    public ValueTask<bool> RemoveAsync(ResourceNeed need, JobMessage job)
    {
        lock (_states)
        {
            if (!_states.TryGetValue(need.Name, out var state) || !state.Lane.Remove(job))
            {
                return ValueTask.FromResult(false);
            }
            state.Credits.Remove(job);
            queue.Unhold(job);
            return ValueTask.FromResult(true);
        }
    }

    private static TimeSpan BudgetWait(State state, ResourceNeed need, long now)
    {
        var period = GateMath.PeriodMs(need.Spec);
        var window = now / period * period;
        var spent = state.Window == window ? state.Spent : 0;
        return need.Spec.Credits is { } budget && spent + need.Credits > budget ? TimeSpan.FromMilliseconds(window + period - now) : TimeSpan.Zero;
    }

    public ValueTask<ResourceState> StateAsync(ResourceSpec spec)
    {
        lock (_states)
        {
            var now = Clock.NowMs();
            var period = GateMath.PeriodMs(spec);
            var window = now / period * period;
            var state = For(spec.Name);
            return ValueTask.FromResult(new ResourceState(
                state.Holders.Count(h => h.Value > now),
                state.Lane.Count,
                state.Window == window ? state.Spent : 0,
                DateTimeOffset.FromUnixTimeMilliseconds(window + period)));
        }
    }

    public ValueTask<TimeSpan?> ExhaustedAsync(ResourceNeed need)
    {
        lock (_states)
        {
            var state = For(need.Name);
            var wait = BudgetWait(state, need, Clock.NowMs());
            if (wait > TimeSpan.Zero)
            {
                return ValueTask.FromResult<TimeSpan?>(wait);
            }
            return ValueTask.FromResult<TimeSpan?>(state.Lane.Count > 0
                ? GateMath.Eta(need.Spec, state.Lane.Count, state.AverageRunMs, TimeSpan.Zero)
                : null);
        }
    }
}
