namespace Switchboard.Tests.Recon;

/// <summary>
/// The health probe's rule for counting the queued requests again: a count that found a large
/// backlog is reused for 200 times its duration; a small backlog is counted every time, however
/// slow the machine made its count (an admin's view right after a submit must show it).
/// </summary>
public sealed class QueueCountReuseTests
{
    [Theory]
    [InlineData(1, 0, 0, false)]            // one queued request: counted every time
    [InlineData(1, 50, 10, false)]          // even when a busy machine made that count slow
    [InlineData(4_999, 50, 10, false)]
    [InlineData(10_000, 10, 1_999, true)]   // 10,000 queued, a 10 ms count: at most every 2 s
    [InlineData(10_000, 10, 2_000, false)]
    [InlineData(100_000, 100, 19_999, true)] // 100,000 queued, a 100 ms count: at most every 20 s
    [InlineData(100_000, 100, 20_000, false)]
    public void ALargeBacklogsCountIsReusedForTwoHundredTimesItsDuration(long queued, long tookMs, long ageMs, bool reused) =>
        Assert.Equal(reused, Switchboard.Recon.HealthProbe.ReuseQueueCount(queued, tookMs, ageMs));
}
