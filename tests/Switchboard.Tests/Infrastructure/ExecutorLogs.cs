namespace Switchboard.Tests.Infrastructure;

/// <summary>What the executors' JobRunner debug lines ("Claimed …", "Ended …", with the request id in their scope) prove.</summary>
public static class ExecutorLogs
{
    /// <summary>
    /// From the executors' debug logs: per request, the intervals each executor ran it. Two
    /// executors' intervals of one request never overlap; a killed executor's open interval
    /// ends at its death.
    /// </summary>
    public static void AssertNeverRanTwiceAtOnce(IEnumerable<SwitchboardProcess> executors, Dictionary<SwitchboardProcess, DateTimeOffset> killedAt)
    {
        var intervals = new Dictionary<string, List<(int Pid, DateTimeOffset Start, DateTimeOffset End)>>();
        foreach (var executor in executors)
        {
            var open = new Dictionary<string, DateTimeOffset>();
            foreach (var entry in executor.Logs)
            {
                var message = entry["Message"]?.GetValue<string>() ?? "";
                var requestId = entry["State"]?["RequestId"]?.GetValue<string>();
                if (requestId is null || entry["Timestamp"] is not { } stamp)
                {
                    continue;
                }
                var at = DateTimeOffset.Parse(stamp.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
                if (message.StartsWith("Claimed ", StringComparison.Ordinal))
                {
                    open[requestId] = at;
                }
                else if (message.StartsWith("Ended ", StringComparison.Ordinal) && open.Remove(requestId, out var start))
                {
                    Add(requestId, (executor.Pid, start, at));
                }
            }
            foreach (var (requestId, start) in open)
            {
                Assert.True(killedAt.TryGetValue(executor, out var death), $"request {requestId} never ended on live executor {executor.Pid}");
                Add(requestId, (executor.Pid, start, death));
            }
        }
        Assert.NotEmpty(intervals);
        foreach (var (requestId, list) in intervals)
        {
            foreach (var a in list)
            {
                foreach (var b in list.Where(b => b.Pid != a.Pid))
                {
                    Assert.False(a.Start < b.End && b.Start < a.End, $"request {requestId} ran on executors {a.Pid} and {b.Pid} at once");
                }
            }
        }

        void Add(string requestId, (int, DateTimeOffset, DateTimeOffset) interval)
        {
            if (!intervals.TryGetValue(requestId, out var list))
            {
                intervals[requestId] = list = [];
            }
            list.Add(interval);
        }
    }

    /// <summary>The requests this executor logged a claim of ("Claimed …"), with how many times.</summary>
    public static Dictionary<string, int> Claims(SwitchboardProcess executor) => Lines(executor, "Claimed ");

    /// <summary>The requests this executor logged the end of ("Ended …"), with how many times.</summary>
    public static Dictionary<string, int> Ends(SwitchboardProcess executor) => Lines(executor, "Ended ");

    private static Dictionary<string, int> Lines(SwitchboardProcess executor, string prefix)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in executor.Logs)
        {
            if (entry["Message"]?.GetValue<string>().StartsWith(prefix, StringComparison.Ordinal) == true
                && entry["State"]?["RequestId"]?.GetValue<string>() is { } requestId)
            {
                counts[requestId] = counts.GetValueOrDefault(requestId) + 1;
            }
        }
        return counts;
    }
}
