using Switchboard.Admin.Panel;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Panel;

/// <summary>
/// The login lockout, kept in the store: two throttles on one store stand for two api
/// processes, so failures counted by one lock the name out on the other.
/// </summary>
public abstract class LoginThrottleTests(StoreKind kind) : IAsyncLifetime
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private readonly TestStore _store = TestStore.Create(kind);
    private readonly ManualClock _clock = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _store.DisposeAsync();

    private LoginThrottle Throttle() => new(_store.Store, _clock);

    [Fact]
    public async Task FiveFailuresLockANameForFiveMinutesAndOnlyThatName()
    {
        var throttle = Throttle();
        for (var i = 0; i < 4; i++)
        {
            await throttle.Failed("root");
        }
        Assert.False(throttle.IsLockedOut("root"));
        await throttle.Failed("root");
        Assert.True(throttle.IsLockedOut("root"));
        Assert.False(throttle.IsLockedOut("ops"));
        _clock.Now += TimeSpan.FromMinutes(4.9);
        Assert.True(throttle.IsLockedOut("root"));
        _clock.Now += TimeSpan.FromMinutes(0.2);
        Assert.False(throttle.IsLockedOut("root"));
        // After the lockout the count starts again: one more failure does not lock at once.
        await throttle.Failed("root");
        Assert.False(throttle.IsLockedOut("root"));
    }

    [Fact]
    public async Task FailuresCountedByOneProcessLockTheNameOutOnAnother()
    {
        var (a, b) = (Throttle(), Throttle());
        for (var i = 0; i < 5; i++)
        {
            await (i % 2 == 0 ? a : b).Failed("root");
        }
        Assert.True(a.IsLockedOut("root"));
        Assert.True(b.IsLockedOut("root"));
    }

    [Fact]
    public async Task FailuresFartherApartThanTheWindowDoNotAddUp()
    {
        var throttle = Throttle();
        for (var i = 0; i < 4; i++)
        {
            await throttle.Failed("root");
        }
        _clock.Now += TimeSpan.FromMinutes(6);
        await throttle.Failed("root");
        Assert.False(throttle.IsLockedOut("root"));
    }

    [Fact]
    public async Task ASuccessClearsTheFailures()
    {
        var throttle = Throttle();
        for (var i = 0; i < 4; i++)
        {
            await throttle.Failed("root");
        }
        await throttle.Succeeded("root");
        await throttle.Failed("root");
        Assert.False(throttle.IsLockedOut("root"));
    }

    [Fact]
    public async Task NamesTriedOnceDoNotPileUp()
    {
        var throttle = Throttle();
        for (var i = 0; i < 20; i++)
        {
            await throttle.Failed("guess" + i);
        }
        _clock.Now += TimeSpan.FromMinutes(6);
        await throttle.Failed("root");
        Assert.Equal(1L, _store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM login_failures")));
    }
}

public sealed class LoginThrottleOnSqlite() : LoginThrottleTests(StoreKind.Sqlite);

public sealed class LoginThrottleOnPostgres() : LoginThrottleTests(StoreKind.Postgres);
