namespace Switchboard.Tests.Recon;

/// <summary>The health probe's rule for counting the queued requests again: a slow count is reused for 200 times its duration, a quick one never.</summary>
public sealed class QueueCountReuseTests
{
    [Theory]
    [InlineData(1, 0, false)]       // a backlog of a few hundred: counted every time
    [InlineData(4, 100, false)]
    [InlineData(10, 1_999, true)]   // 10,000 queued: at most every 2 s
    [InlineData(10, 2_000, false)]
    [InlineData(100, 19_999, true)] // 100,000 queued: at most every 20 s
    [InlineData(100, 20_000, false)]
    public void ASlowCountIsReusedForTwoHundredTimesItsDuration(long tookMs, long ageMs, bool reused) =>
        Assert.Equal(reused, Switchboard.Recon.HealthProbe.ReuseQueueCount(tookMs, ageMs));
}
