using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Users;

namespace Switchboard.Tests.Upgrades;

/// <summary>
/// The transitions an older build could make on a row a newer build wrote (format 2, after a
/// rollback), beside the same on a row of today's format: the claim takes nothing and says why;
/// recon puts a newer row whose lease expired back in the queue (status, owner and lease mean the
/// same in every format) but never writes its outcome: not failed as lost on its last attempt,
/// not failed for want of an executor, its results not expired. Nothing refunded.
/// </summary>
public abstract class ReconLeavesNewerRowsTests(StoreKind kind) : IAsyncLifetime
{
    private readonly TestStore _store = TestStore.Create(kind);
    private RequestLifecycle _lifecycle = null!;
    private string _user = "";

    public Task InitializeAsync()
    {
        _lifecycle = RequestLifecycle.Bare(_store.Store);
        _user = _store.Store.Write(c => UserStore.Create(c, "ann", false, 1000, null)).Id;
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    /// <summary>A request of <paramref name="format"/>, queued (its row written as the newer build would: the format set).</summary>
    private async Task<JobMessage> Queued(int format, int maxAttempts = 3, int? expiration = null)
    {
        var id = Guid.NewGuid().ToString("N");
        await _lifecycle.SubmitAsync(new(id, _user, "text", "shout", "echo.render", "{}", "Say x", "{}", 1, expiration, 5, maxAttempts), Clock.NowMs());
        _store.Query(c => c.Execute("UPDATE requests SET format = @f WHERE id = @id", ("@f", format), ("@id", id)));
        return new JobMessage(id, 1, "echo.render");
    }

    /// <summary>Claimed by a worker as a build that reads it would (the format is set after the claim).</summary>
    private async Task<(JobMessage Message, ClaimedJob Job)> Running(int format, int maxAttempts, int? expiration = null)
    {
        var message = await Queued(1, maxAttempts, expiration);
        var now = Clock.NowMs();
        var job = await _lifecycle.ClaimAsync(message, "worker-1", now + 1_000, now);
        _store.Query(c => c.Execute("UPDATE requests SET format = @f WHERE id = @id", ("@f", format), ("@id", message.RequestId)));
        return (message, job!);
    }

    private string Status(JobMessage message) =>
        _store.Query(c => c.Scalar<string>("SELECT status FROM requests WHERE id = @id", ("@id", message.RequestId)))!;

    private long Refunds() => _store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM ledger WHERE kind = 'refund'"));

    [Fact]
    public async Task ASubmittedRowIsOfTheFormatThisBuildWrites()
    {
        var id = Guid.NewGuid().ToString("N");
        await _lifecycle.SubmitAsync(new(id, _user, "text", "shout", "echo.render", "{}", "Say x", "{}", 1, null, 5, 3), Clock.NowMs());

        Assert.Equal(Formats.Request, _store.Query(c => c.Scalar<long>("SELECT format FROM requests WHERE id = @id", ("@id", id))));
    }

    [Fact]
    public async Task TheClaimTakesNothingOfANewerRowAndSaysWhy()
    {
        var newer = await Queued(2);
        var today = await Queued(1);
        var now = Clock.NowMs();

        Assert.Null(await _lifecycle.ClaimAsync(newer, "worker-1", now + 60_000, now));
        Assert.Equal(new ClaimMiss(null, 2), await _lifecycle.ClaimMissAsync(newer, now));
        Assert.NotNull(await _lifecycle.ClaimAsync(today, "worker-1", now + 60_000, now));
        Assert.Equal("queued", Status(newer));
    }

    [Fact]
    public async Task AnExpiredLeaseRequeuesANewerRowButNeverFailsIt()
    {
        var (lastNewer, _) = await Running(2, maxAttempts: 1);
        var (lastToday, _) = await Running(1, maxAttempts: 1);
        var (retryNewer, _) = await Running(2, maxAttempts: 3);
        var now = Clock.NowMs() + 10_000;

        var (requeued, failed) = await _lifecycle.RecoverExpiredLeasesAsync(now, now);

        Assert.Equal([lastToday.RequestId], failed);
        Assert.Equal([retryNewer], requeued);
        Assert.Equal("running", Status(lastNewer));
        Assert.Equal("queued", Status(retryNewer));
        Assert.Equal(1, Refunds());
    }

    [Fact]
    public async Task RequestsWithoutAnExecutorFailButANewerRowWaits()
    {
        var newer = await Queued(2);
        var today = await Queued(1);
        var now = Clock.NowMs() + 10_000;

        var failed = await _lifecycle.FailUnservedAsync("echo.render", now, now);

        Assert.Equal([today.RequestId], failed);
        Assert.Equal("queued", Status(newer));
        Assert.Equal(1, Refunds());
    }

    [Fact]
    public async Task ResultsPastTheirExpirationExpireButANewerRowsStay()
    {
        var (newer, newerJob) = await Running(1, maxAttempts: 3, expiration: 1);
        var (today, todayJob) = await Running(1, maxAttempts: 3, expiration: 1);
        Assert.True(await _lifecycle.SucceedAsync(newerJob, "worker-1", """{"text": "x"}""", null));
        Assert.True(await _lifecycle.SucceedAsync(todayJob, "worker-1", """{"text": "x"}""", null));
        _store.Query(c => c.Execute("UPDATE requests SET format = 2 WHERE id = @id", ("@id", newer.RequestId)));

        var expired = await _lifecycle.ExpireResultsAsync(Clock.NowMs() + 10_000);

        Assert.Equal([today.RequestId], expired);
        Assert.Equal("succeeded", Status(newer));
    }
}

public sealed class ReconLeavesNewerRowsOnSqlite() : ReconLeavesNewerRowsTests(StoreKind.Sqlite);

public sealed class ReconLeavesNewerRowsOnPostgres() : ReconLeavesNewerRowsTests(StoreKind.Postgres);
