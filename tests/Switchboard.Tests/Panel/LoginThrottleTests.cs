using Switchboard.Admin.Panel;

namespace Switchboard.Tests.Panel;

/// <summary>
/// The login lockout, kept in the store, per name and address and per name: two throttles on
/// one store stand for two api processes, so failures counted by one lock the name out on the
/// other.
/// </summary>
public abstract class LoginThrottleTests(StoreKind kind) : AppTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private readonly ManualClock _clock = new();

    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(kind);

    private LoginThrottle Throttle() => new(App.Store.Store, _clock);

    private const string Here = "192.0.2.1";
    private const string There = "198.51.100.7";

    private static async Task Fail(LoginThrottle throttle, string name, string address, int times)
    {
        for (var i = 0; i < times; i++)
        {
            await throttle.TryReserve(name, address);
        }
    }

    [Fact]
    public async Task FiveFailuresLockANameForFiveMinutesFromThatAddressOnly()
    {
        var throttle = Throttle();
        await Fail(throttle, "root", Here, 4);
        Assert.False(throttle.IsLockedOut("root", Here));
        await throttle.TryReserve("root", Here);
        Assert.True(throttle.IsLockedOut("root", Here));
        // The admin, elsewhere, still gets in; and other names from here are not locked.
        Assert.False(throttle.IsLockedOut("root", There));
        Assert.False(throttle.IsLockedOut("ops", Here));
        _clock.Now += TimeSpan.FromMinutes(4.9);
        Assert.True(throttle.IsLockedOut("root", Here));
        _clock.Now += TimeSpan.FromMinutes(0.2);
        Assert.False(throttle.IsLockedOut("root", Here));
        // After the lockout the count starts again: one more failure does not lock at once.
        await throttle.TryReserve("root", Here);
        Assert.False(throttle.IsLockedOut("root", Here));
    }

    [Fact]
    public async Task FiftyFailuresSpreadOverAddressesLockTheNameEverywhere()
    {
        var throttle = Throttle();
        for (var i = 0; i < 9; i++)
        {
            await Fail(throttle, "root", $"203.0.113.{i}", 5);
        }
        await Fail(throttle, "root", "203.0.113.9", 4);
        Assert.False(throttle.IsLockedOut("root", Here));
        await throttle.TryReserve("root", "203.0.113.9");
        Assert.True(throttle.IsLockedOut("root", Here));
        Assert.False(throttle.IsLockedOut("ops", Here));
        _clock.Now += TimeSpan.FromMinutes(5.1);
        Assert.False(throttle.IsLockedOut("root", Here));
    }

    [Fact]
    public async Task FailuresCountedByOneProcessLockTheNameOutOnAnother()
    {
        var (a, b) = (Throttle(), Throttle());
        for (var i = 0; i < 5; i++)
        {
            await (i % 2 == 0 ? a : b).TryReserve("root", Here);
        }
        Assert.True(a.IsLockedOut("root", Here));
        Assert.True(b.IsLockedOut("root", Here));
    }

    [Fact]
    public async Task FailuresFartherApartThanTheWindowDoNotAddUp()
    {
        var throttle = Throttle();
        await Fail(throttle, "root", Here, 4);
        _clock.Now += TimeSpan.FromMinutes(6);
        await throttle.TryReserve("root", Here);
        Assert.False(throttle.IsLockedOut("root", Here));
    }

    [Fact]
    public async Task ASuccessClearsTheFailuresFromItsAddressButNotTheNameWideCount()
    {
        var throttle = Throttle();
        await Fail(throttle, "root", Here, 4);
        await throttle.Succeeded("root", Here);
        await throttle.TryReserve("root", Here);
        Assert.False(throttle.IsLockedOut("root", Here));
        // 5 before and after the success, 45 more from elsewhere: the name-wide 50 is reached.
        for (var i = 0; i < 9; i++)
        {
            await Fail(throttle, "root", $"203.0.113.{i}", 5);
        }
        Assert.True(throttle.IsLockedOut("root", There));
    }

    [Fact]
    public async Task NoUserNameSpellsAnotherKey()
    {
        var throttle = Throttle();
        // A naive "address name" key would make these failures count for root from Here.
        await Fail(throttle, $"{Here} root", There, 5);
        await Fail(throttle, $"@{Here} root", There, 5);
        Assert.False(throttle.IsLockedOut("root", Here));
    }

    [Fact]
    public async Task NamesTriedOnceDoNotPileUp()
    {
        var throttle = Throttle();
        for (var i = 0; i < 20; i++)
        {
            await throttle.TryReserve("guess" + i, Here);
        }
        _clock.Now += TimeSpan.FromMinutes(6);
        await throttle.TryReserve("root", Here);
        // One row for root from Here, one for root from anywhere.
        Assert.Equal(2L, App.Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM login_failures")));
    }
}

public sealed class LoginThrottleOnSqlite() : LoginThrottleTests(StoreKind.Sqlite);

public sealed class LoginThrottleOnPostgres() : LoginThrottleTests(StoreKind.Postgres);
