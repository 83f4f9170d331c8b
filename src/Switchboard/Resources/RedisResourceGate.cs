using StackExchange.Redis;
using Switchboard.Config;
using Switchboard.Queue;

namespace Switchboard.Resources;

/// <summary>
/// The distributed gate: every step is one Lua script (<see cref="RedisGateScripts"/>) on the
/// Redis the queue uses, so all executors share one set of slots, one rate and one budget per
/// resource. When Redis cannot be reached, every call throws: jobs then wait (fail closed).
/// </summary>
public sealed class RedisResourceGate(IConnectionMultiplexer redis, RedisSettings settings) : IResourceGate
{
    private const int WakeLimit = 256;

    private readonly RedisQueueKeys _queue = new(settings);

    private IDatabase Database => redis.GetDatabase();

    private RedisKey Key(string resource, string part) => settings.Key($"res:{resource}:{part}");

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
            [.. TakeKeys(need.Name), Key(need.Name, "lane")],
            [job.ToString(), need.Credits, .. Spec(need.Spec)]))!;
        return new GateAnswer((long)result[0] == 1, TimeSpan.FromMilliseconds((long)result[1]), (GateWait)(long)result[2]);
    }

    private RedisKey Lanes => settings.Key("res:lanes");

    public async ValueTask ParkAsync(ResourceNeed need, JobMessage job) =>
        await Database.ScriptEvaluateAsync(
            RedisGateScripts.Park,
            [Key(need.Name, "lane"), Key(need.Name, "parked"), _queue.Held, Lanes],
            [job.ToString(), need.Credits, need.Name, job.Handler]);

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
                    RedisGateScripts.Drain, [Key(gone, "lane"), Key(gone, "parked"), _queue.StreamPrefix, Lanes], [gone]);
            }
        }
        TimeSpan? next = null;
        foreach (var spec in resources)
        {
            var result = (RedisResult[])(await Database.ScriptEvaluateAsync(
                RedisGateScripts.Wake,
                [.. TakeKeys(spec.Name), Key(spec.Name, "lane"), Key(spec.Name, "parked"), _queue.StreamPrefix],
                [.. Spec(spec), WakeLimit]))!;
            var wait = (long)result[1];
            if (wait >= 0)
            {
                var due = TimeSpan.FromMilliseconds(wait);
                next = next is null || due < next ? due : next;
            }
        }
        return next;
    }

    private async Task<(long Position, long Length, double AverageMs, TimeSpan BudgetWait)> Look(ResourceNeed need, string entry)
    {
        var result = (RedisResult[])(await Database.ScriptEvaluateAsync(
            RedisGateScripts.Look,
            [Key(need.Name, "lane"), Key(need.Name, "avg"), Key(need.Name, "spent:")],
            [entry, need.Credits, need.Spec.Credits ?? -1, GateMath.PeriodMs(need.Spec)]))!;
        return ((long)result[0], (long)result[1], (double)result[2], TimeSpan.FromMilliseconds((long)result[3]));
    }

    public async ValueTask<LanePosition?> PositionAsync(ResourceNeed need, JobMessage job)
    {
        var (position, _, average, budgetWait) = await Look(need, $"{need.Credits}|{job}|{job.Handler}");
        return position == 0 ? null : new LanePosition(position, GateMath.Eta(need.Spec, position, average, budgetWait));
    }

    public async ValueTask<ResourceState> StateAsync(ResourceSpec spec)
    {
        var result = (RedisResult[])(await Database.ScriptEvaluateAsync(
            RedisGateScripts.State,
            [Key(spec.Name, "holders"), Key(spec.Name, "lane"), Key(spec.Name, "spent:")],
            [GateMath.PeriodMs(spec)]))!;
        return new ResourceState((long)result[0], (long)result[1], (long)result[2], DateTimeOffset.FromUnixTimeMilliseconds((long)result[3]));
    }

    public async ValueTask<TimeSpan?> ExhaustedAsync(ResourceNeed need)
    {
        var (_, length, average, budgetWait) = await Look(need, "");
        if (budgetWait > TimeSpan.Zero)
        {
            return budgetWait;
        }
        return length > 0 ? GateMath.Eta(need.Spec, length, average, TimeSpan.Zero) : null;
    }
}
