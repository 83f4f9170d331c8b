using Switchboard.Admin.Panel;

namespace Switchboard.Tests.Panel;

public sealed class LoginThrottleTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void FiveFailuresLockANameForFiveMinutesAndOnlyThatName()
    {
        var clock = new ManualClock();
        var throttle = new LoginThrottle(clock);
        for (var i = 0; i < 4; i++)
        {
            throttle.Failed("root");
        }
        Assert.False(throttle.IsLockedOut("root"));
        throttle.Failed("root");
        Assert.True(throttle.IsLockedOut("root"));
        Assert.False(throttle.IsLockedOut("ops"));
        clock.Now += TimeSpan.FromMinutes(4.9);
        Assert.True(throttle.IsLockedOut("root"));
        clock.Now += TimeSpan.FromMinutes(0.2);
        Assert.False(throttle.IsLockedOut("root"));
        // After the lockout the count starts again: one more failure does not lock at once.
        throttle.Failed("root");
        Assert.False(throttle.IsLockedOut("root"));
    }

    [Fact]
    public void ASuccessClearsTheFailures()
    {
        var throttle = new LoginThrottle(new ManualClock());
        for (var i = 0; i < 4; i++)
        {
            throttle.Failed("root");
        }
        throttle.Succeeded("root");
        throttle.Failed("root");
        Assert.False(throttle.IsLockedOut("root"));
    }
}
