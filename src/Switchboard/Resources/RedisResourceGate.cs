using System.Globalization;
using StackExchange.Redis;
using Switchboard.Config;
using Switchboard.Queue;
using Switchboard.Fairness;

namespace Switchboard.Resources;

/// <summary>
/// The distributed gate: every step is one Lua script (<see cref="RedisGateScripts"/>) on the
/// Redis the queue uses, so all executors share one set of slots, one rate and one budget per
/// resource. When Redis cannot be reached, every call throws: jobs then wait (fail closed).
/// Lanes are fair (<see cref="FairOrder{T}"/>'s rule in Lua) unless <paramref name="fair"/> is off.
/// </summary>
public sealed class RedisResourceGate(IConnectionMultiplexer redis, RedisSettings settings, bool fair = true, TimeSpan? ageStep = null) : IResourceGate
{
    private const int WakeLimit = 256;

    private readonly RedisValue _fair = fair ? 1 : 0;

    private readonly long _ageStepMs = Math.Max(1, (long)(ageStep ?? TimeSpan.FromSeconds(30)).TotalMilliseconds);

    private readonly RedisQueueKeys _queue = new(settings);

    private IDatabase Database => redis.GetDatabase();

    private RedisKey Key(string resource, string part) => settings.Key($"res:{resource}:{part}");

    /// <summary>What the fair lane's keys start with (the scripts add the rest: <see cref="RedisGateScripts"/>).</summary>
    private RedisKey Prefix(string resource) => Key(resource, "");

    /// <summary>A job's entry in the list lane: <c>credits|job|handler</c>.</summary>
    private static string Entry(ResourceNeed need, JobMessage job) => $"{need.Credits}|{job}|{job.Handler}";

    private RedisKey[] TakeKeys(string resource) => [Key(resource, "holders"), Key(resource, "tat"), Key(resource, "spent:")];

    private static RedisValue[] Spec(ResourceSpec spec) =>
    [
        spec.LeaseSeconds * 1000L,
        spec.MaxConcurrent ?? 0,
        GateMath.IntervalMs(spec),
        GateMath.ToleranceMs(spec),
        spec.Credits ?? -1,
        GateMath.PeriodMs(spec),
    ];

    public async ValueTask<GateAnswer> TryAcquireAsync(ResourceNeed need, JobMessage job)
    {
        var result = (RedisResult[])(await Database.ScriptEvaluateAsync(
            RedisGateScripts.Acquire,
            [.. TakeKeys(need.Name), Key(need.Name, "lane"), Key(need.Name, "fj")],
            [job.ToString(), need.Credits, .. Spec(need.Spec)]))!;
        return new GateAnswer((long)result[0] == 1, TimeSpan.FromMilliseconds((long)result[1]), (GateWait)(long)result[2]);
    }

    private RedisKey Lanes => settings.Key("res:lanes");

    public async ValueTask ParkAsync(ResourceNeed need, JobMessage job) =>
        await Database.ScriptEvaluateAsync(
            RedisGateScripts.Park,
            [Key(need.Name, "lane"), Key(need.Name, "parked"), _queue.Held, Lanes, Prefix(need.Name)],
            [job.ToString(), need.Credits, need.Name, job.Handler, _fair, job.UserId ?? string.Empty,
                Priorities.Clamp(job.Priority), FairOrder<JobMessage>.Scale / Math.Clamp(job.Weight, 1, FairOrder<JobMessage>.MaxWeight)]);

    public async ValueTask<bool> RemoveAsync(ResourceNeed need, JobMessage job) =>
        (long)(await Database.ScriptEvaluateAsync(
            RedisGateScripts.Remove,
            [Key(need.Name, "lane"), Key(need.Name, "parked"), _queue.Held, Prefix(need.Name)],
            [job.ToString(), Entry(need, job)]))! == 1;

    public async ValueTask ReleaseAsync(ResourceNeed need, JobMessage job, TimeSpan? ran) =>
        await Database.ScriptEvaluateAsync(
            RedisGateScripts.Release,
            [Key(need.Name, "holders"), Key(need.Name, "avg")],
            [job.ToString(), ran is { } time ? (long)time.TotalMilliseconds : -1]);

    public async ValueTask RenewAsync(IReadOnlyCollection<(ResourceNeed Need, JobMessage Job)> held)
    {
        foreach (var group in held.GroupBy(h => h.Need.Name))
        {
            var lease = group.First().Need.Spec.LeaseSeconds * 1000L;
            await Database.ScriptEvaluateAsync(
                RedisGateScripts.Renew,
                [Key(group.Key, "holders")],
                [lease, .. group.Select(h => (RedisValue)h.Job.ToString())]);
        }
    }

    private static readonly TimeSpan DrainCheckInterval = TimeSpan.FromSeconds(2);
    private long _nextDrainCheck;

    public async ValueTask<TimeSpan?> WakeAsync(IReadOnlyCollection<ResourceSpec> resources)
    {
        // Resources leave the map rarely: their lanes are looked for every few seconds, not at every wake.
        if (Environment.TickCount64 >= Interlocked.Read(ref _nextDrainCheck))
        {
            Interlocked.Exchange(ref _nextDrainCheck, Environment.TickCount64 + (long)DrainCheckInterval.TotalMilliseconds);
            foreach (var gone in (await Database.SetMembersAsync(Lanes)).Select(m => (string)m!).Where(n => resources.All(r => r.Name != n)))
            {
                await Database.ScriptEvaluateAsync(
                    RedisGateScripts.Drain, [Key(gone, "lane"), Key(gone, "parked"), _queue.StreamPrefix, Lanes, Prefix(gone)], [gone]);
            }
        }
        TimeSpan? next = null;
        foreach (var spec in resources)
        {
            var result = (RedisResult[])(await Database.ScriptEvaluateAsync(
                RedisGateScripts.Wake,
                [.. TakeKeys(spec.Name), Key(spec.Name, "lane"), Key(spec.Name, "parked"), _queue.StreamPrefix, Prefix(spec.Name)],
                [.. Spec(spec), WakeLimit, _fair, _ageStepMs]))!;
            var wait = (long)result[1];
            if (wait >= 0)
            {
                var due = TimeSpan.FromMilliseconds(wait);
                next = next is null || due < next ? due : next;
            }
        }
        return next;
    }

    /// <summary>The lane's length, wait estimates and (for a job) its position: 0 when it is not parked.</summary>
    private async Task<(long Position, long Length, double AverageMs, TimeSpan BudgetWait)> Look(ResourceNeed need, JobMessage? job)
    {
        var result = (RedisResult[])(await Database.ScriptEvaluateAsync(
            RedisGateScripts.Look,
            [Key(need.Name, "lane"), Key(need.Name, "avg"), Key(need.Name, "spent:"), Prefix(need.Name)],
            [job?.ToString() ?? "", job is { } j ? Entry(need, j) : "", need.Credits, need.Spec.Credits ?? -1, GateMath.PeriodMs(need.Spec), _fair, _ageStepMs]))!;
        var position = (long)result[3] switch
        {
            1 => (long)result[4],
            2 => FairPosition(result.AsSpan(4)),
            _ => 0,
        };
        return (position, (long)result[0], (double)result[1], TimeSpan.FromMilliseconds((long)result[2]));
    }

    /// <summary>
    /// The position from the Lua's <c>fair_look</c>: the jobs ahead it counted, plus each other
    /// flow's turns before this job's, counted here in exact integers (<see cref="FairOrder{T}.TurnsBefore"/>:
    /// the flow's index × stride may pass 2^53, beyond a Lua number's exact range).
    /// </summary>
    private static long FairPosition(ReadOnlySpan<RedisResult> look)
    {
        var ahead = (long)look[0];
        var (pass, stride, user, index) = (Whole(look[1]), Whole(look[2]), (string)look[3]!, (long)look[4]);
        var turn = pass + (index * stride);
        for (var i = 5; i + 3 < look.Length; i += 4)
        {
            ahead += FairOrder<JobMessage>.TurnsBefore(turn, user, Whole(look[i + 1]), Whole(look[i + 2]), (string)look[i]!, (long)look[i + 3]);
        }
        return ahead + 1;
    }

    // Passes and strides come back as Redis writes doubles; all are whole numbers below 2^53.
    private static long Whole(RedisResult value) => (long)double.Parse((string)value!, NumberStyles.Float, CultureInfo.InvariantCulture);

    public async ValueTask<LanePosition?> PositionAsync(ResourceNeed need, JobMessage job)
    {
        var (position, _, average, budgetWait) = await Look(need, job);
        return position == 0 ? null : new LanePosition(position, GateMath.Eta(need.Spec, position, average, budgetWait));
    }

    public async ValueTask<ResourceState> StateAsync(ResourceSpec spec)
    {
        var result = (RedisResult[])(await Database.ScriptEvaluateAsync(
            RedisGateScripts.State,
            [Key(spec.Name, "holders"), Key(spec.Name, "lane"), Key(spec.Name, "spent:"), Key(spec.Name, "fj")],
            [GateMath.PeriodMs(spec)]))!;
        return new ResourceState((long)result[0], (long)result[1], (long)result[2], DateTimeOffset.FromUnixTimeMilliseconds((long)result[3]));
    }

    public async ValueTask<TimeSpan?> ExhaustedAsync(ResourceNeed need)
    {
        var (_, length, average, budgetWait) = await Look(need, null);
        if (budgetWait > TimeSpan.Zero)
        {
            return budgetWait;
        }
        return length > 0 ? GateMath.Eta(need.Spec, length, average, TimeSpan.Zero) : null;
    }
}
