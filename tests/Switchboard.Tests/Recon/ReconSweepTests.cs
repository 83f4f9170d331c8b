using Switchboard.Recon;

namespace Switchboard.Tests.Recon;

/// <summary>
/// Recon's cursor over the queued requests, driven pass by pass (2 s apart, as recon runs) over a
/// simulated backlog and a queue that loses messages: every queued request is checked by every
/// sweep, whatever the backlog; a lost message is found within one sweep; a steady pass reads one
/// small page whatever the backlog.
/// </summary>
public sealed class ReconSweepTests
{
    private const long PassMs = 2_000;
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    /// <summary>Queued requests by seq (1 … n), each held by the queue unless lost.</summary>
    private sealed class Backlog(int count)
    {
        public readonly SortedSet<long> Queued = [.. Enumerable.Range(1, count).Select(i => (long)i)];
        public readonly HashSet<long> Lost = [];
        public readonly List<(long After, int Limit, int Read, int Missing)> Pages = [];

        /// <summary>One pass: the page the sweep asks for, what the queue lacks of it (re-sent: held again).</summary>
        public List<long> Pass(ReconSweep sweep, long now, bool firstPass = false)
        {
            var (after, limit) = sweep.Next(now, firstPass);
            var page = Queued.GetViewBetween(after + 1, long.MaxValue).Take(limit).ToList();
            var missing = page.Where(Lost.Contains).ToList();
            Pages.Add((after, limit, page.Count, missing.Count));
            Lost.ExceptWith(missing);
            sweep.Read(page.Count, limit, page.Count == 0 ? 0 : page[^1], missing.Count);
            return missing;
        }
    }

    /// <summary>A new leader's first pass and the recovery sweep it starts, up to the newest; returns the time of the last pass.</summary>
    private static long Settle(Backlog backlog, ReconSweep sweep)
    {
        var now = 0L;
        backlog.Pass(sweep, now, firstPass: true);
        while (backlog.Pages[^1].Read == backlog.Pages[^1].Limit)
        {
            now += PassMs;
            backlog.Pass(sweep, now);
        }
        Assert.All(backlog.Pages, p => Assert.Equal(ReconSweep.RecoveryPage, p.Limit));
        backlog.Pages.Clear();
        return now;
    }

    [Theory]
    [InlineData(2_500)]
    [InlineData(100_000)]
    public void ALostMessageDeepInTheBacklogIsFoundWithinOneSweep(int count)
    {
        var backlog = new Backlog(count);
        var sweep = new ReconSweep(Interval);
        var now = Settle(backlog, sweep);
        var deep = count - 7L;
        backlog.Lost.Add(deep);
        var passes = 0;
        while (backlog.Lost.Count > 0)
        {
            now += PassMs;
            backlog.Pass(sweep, now);
            passes++;
            Assert.True(passes <= (count / ReconSweep.SteadyPage) + (Interval.TotalMilliseconds / PassMs) + 2, $"lost message of seq {deep} not found after {passes} passes");
        }
        // Found by steady pages, one small page a pass.
        Assert.All(backlog.Pages, p => Assert.Equal(ReconSweep.SteadyPage, p.Limit));
    }

    [Theory]
    [InlineData(10_000)]
    [InlineData(100_000)]
    public void ASteadyPassReadsOneSmallPageWhateverTheBacklog(int count)
    {
        var backlog = new Backlog(count);
        var sweep = new ReconSweep(Interval);
        var now = Settle(backlog, sweep);
        for (var i = 0; i < 30; i++)
        {
            now += PassMs;
            backlog.Pass(sweep, now);
        }
        Assert.All(backlog.Pages, p => Assert.Equal(ReconSweep.SteadyPage, p.Limit));
        // 60 s: at most 30 pages of 1,000, and every queued request at least once when it fits.
        Assert.InRange(backlog.Pages.Sum(p => p.Read), Math.Min(count, 15 * ReconSweep.SteadyPage), 30 * ReconSweep.SteadyPage);
    }

    [Fact]
    public void ASweepLongerThanTheIntervalRunsOnToTheNewestBeforeTheNextStarts()
    {
        var backlog = new Backlog(50_000);
        var sweep = new ReconSweep(Interval);
        var now = Settle(backlog, sweep);
        while (backlog.Pages.Count == 0 || backlog.Pages[^1].After != 0)
        {
            now += PassMs;
            backlog.Pass(sweep, now);
        }
        backlog.Pages.Clear();
        // The sweep that just started from the oldest: on to the newest, though 100 s pass.
        do
        {
            now += PassMs;
            backlog.Pass(sweep, now);
        }
        while (backlog.Pages[^1].Read == ReconSweep.SteadyPage);
        Assert.Equal(Enumerable.Range(1, 50).Select(i => i * (long)ReconSweep.SteadyPage), backlog.Pages.Select(p => p.After));
        // Caught up, 30 s past its start: the next pass starts again from the oldest.
        now += PassMs;
        backlog.Pass(sweep, now);
        Assert.Equal(0, backlog.Pages[^1].After);
    }

    [Fact]
    public void AQueueFoundEmptyIsRefilledByRecoveryPagesFromTheOldest()
    {
        var backlog = new Backlog(30_000);
        var sweep = new ReconSweep(Interval);
        var now = Settle(backlog, sweep);
        // A Redis restarted empty: every message lost. The next sweep (within 30 s) finds it.
        backlog.Lost.UnionWith(backlog.Queued);
        while (backlog.Lost.Count > 0)
        {
            now += PassMs;
            backlog.Pass(sweep, now);
            Assert.True(backlog.Pages.Count <= 20, "30,000 lost messages not refilled after 20 passes");
        }
        // A steady page finds the loss, then pages of 10,000 from the oldest: refilled in 3 more passes.
        var found = backlog.Pages.FindIndex(p => p.Missing > 0);
        Assert.Equal(ReconSweep.SteadyPage, backlog.Pages[found].Limit);
        Assert.Equal((0L, ReconSweep.RecoveryPage), (backlog.Pages[found + 1].After, backlog.Pages[found + 1].Limit));
        Assert.Equal(found + 4, backlog.Pages.Count);
        // The recovery sweep reaches the newest; steady pages again after it.
        now += PassMs;
        backlog.Pass(sweep, now);
        now += PassMs;
        backlog.Pass(sweep, now);
        Assert.Equal(ReconSweep.SteadyPage, backlog.Pages[^1].Limit);
    }

    [Fact]
    public void AFailedPassStartsFromTheOldestByTheRecoveryPage()
    {
        var backlog = new Backlog(5_000);
        var sweep = new ReconSweep(Interval);
        var now = Settle(backlog, sweep);
        backlog.Pass(sweep, now + PassMs);
        Assert.Equal(ReconSweep.SteadyPage, backlog.Pages[^1].Limit);
        sweep.Failed();
        Assert.Equal((0L, ReconSweep.RecoveryPage), sweep.Next(now + (2 * PassMs), firstPass: false));
    }
}
