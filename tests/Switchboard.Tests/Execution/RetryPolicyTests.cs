using Switchboard.Config;
using Switchboard.Execution;
using Switchboard.Hosting;

namespace Switchboard.Tests.Execution;

public sealed class RetryPolicyTests
{
    private static readonly SwitchboardOptions Options = new() { RetryBaseDelay = TimeSpan.FromSeconds(1), RetryMaxDelay = TimeSpan.FromSeconds(10) };

    [Theory]
    [InlineData(1, 0.5, 1)]
    [InlineData(2, 1, 2)]
    [InlineData(3, 2, 4)]
    [InlineData(8, 5, 10)]
    public void BackoffDoublesWithJitterUpToTheCap(int attempt, double minSeconds, double maxSeconds)
    {
        for (var i = 0; i < 200; i++)
        {
            var delay = RetryPolicy.Delay(Options, attempt, retryAfter: null);
            Assert.InRange(delay.TotalSeconds, minSeconds, maxSeconds);
        }
    }

    [Fact]
    public void RetryAfterIsAFloor() =>
        Assert.Equal(TimeSpan.FromSeconds(30), RetryPolicy.Delay(Options, 1, TimeSpan.FromSeconds(30)));

    [Fact]
    public void AShortRetryAfterDoesNotShortenTheBackoff() =>
        Assert.InRange(RetryPolicy.Delay(Options, 3, TimeSpan.FromMilliseconds(1)).TotalSeconds, 2, 4);

    [Fact]
    public void AHugeRetryAfterIsCapped() =>
        Assert.Equal(RetryPolicy.MaxRetryAfter, RetryPolicy.Delay(Options, 1, TimeSpan.FromDays(365)));
}
