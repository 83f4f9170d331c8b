using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;
using Switchboard.Users;

namespace Switchboard.Tests.Lifecycle;

/// <summary>
/// A retry message whose claim found the row not yet due is kept for later, never dropped: even
/// when the claim was slow and not_before has passed by the time the wait is read.
/// </summary>
public abstract class EarlyRetryMessageTests(StoreKind kind) : IAsyncLifetime
{
    private readonly TestStore _store = TestStore.Create(kind);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _store.DisposeAsync();

    /// <summary>A request claimed once and given back for a retry due at <paramref name="notBefore"/>.</summary>
    private async Task<(RequestLifecycle, JobMessage)> RetryDueAt(long notBefore)
    {
        var lifecycle = RequestLifecycle.Bare(_store.Store);
        var user = _store.Store.Write(c => UserStore.Create(c, "ann", false, 100, null));
        var id = new string('e', 32);
        await lifecycle.SubmitAsync(new(id, user.Id, "text", "shout", "echo.render", "{}", "Say x", "{}", 1, null, 5, 3), Clock.NowMs());
        var now = Clock.NowMs();
        var job = await lifecycle.ClaimAsync(new JobMessage(id, 1, "echo.render"), "worker-1", now + 60_000, now);
        Assert.True(await lifecycle.RetryAsync(job!, "worker-1", "rate_limited", "slow down", notBefore));
        return (lifecycle, new JobMessage(id, 1, "echo.render"));
    }

    [Fact]
    public async Task AClaimBeforeNotBeforeFindsNothingAndLearnsTheRemainingWait()
    {
        var notBefore = Clock.NowMs() + 60_000;
        var (lifecycle, message) = await RetryDueAt(notBefore);
        var early = notBefore - 1;

        Assert.Null(await lifecycle.ClaimAsync(message, "worker-1", early + 60_000, early));
        var wait = await lifecycle.DueInAsync(message, early);

        Assert.InRange(wait!.Value, 1, 60_000);
    }

    [Fact]
    public async Task AnEarlyClaimAnsweredAfterNotBeforeIsRescheduledAtOnceNotDropped()
    {
        // The claim used a time just before not_before; by the time its wait is read, not_before is past.
        var notBefore = Clock.NowMs() - 1_000;
        var (lifecycle, message) = await RetryDueAt(notBefore);

        Assert.Equal(0, await lifecycle.DueInAsync(message, claimedAt: notBefore - 1));
    }

    [Fact]
    public async Task AMessageThatWasDueAtItsClaimIsNotKept()
    {
        var notBefore = Clock.NowMs() - 1_000;
        var (lifecycle, message) = await RetryDueAt(notBefore);

        Assert.Null(await lifecycle.DueInAsync(message, claimedAt: notBefore));
        Assert.Null(await lifecycle.DueInAsync(message with { Run = 2 }, claimedAt: notBefore - 1));
    }
}

public sealed class EarlyRetryMessageOnSqlite() : EarlyRetryMessageTests(StoreKind.Sqlite);

public sealed class EarlyRetryMessageOnPostgres() : EarlyRetryMessageTests(StoreKind.Postgres);
