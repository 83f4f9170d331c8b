using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;
using Switchboard.Users;

namespace Switchboard.Tests.Lifecycle;

/// <summary>
/// A message read back from Redis (or recon's) is only <c>id:run</c>: the claim gives the job its
/// user, priority and weight from the store, so that a retry and a resource lane wait where the
/// request belongs, not in a default flow at weight 1.
/// </summary>
public abstract class ClaimedMessageTests(StoreKind kind) : IAsyncLifetime
{
    private readonly TestStore _store = TestStore.Create(kind);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _store.DisposeAsync();

    private async Task<ClaimedJob> ClaimBare(string userName, string id, int priority)
    {
        var lifecycle = RequestLifecycle.Bare(_store.Store);
        var user = _store.Store.Write(c => UserStore.Find(c, userName))!;
        await lifecycle.SubmitAsync(new(id, user.Id, "text", "shout", "echo.render", "{}", "Say x", "{}", 1, null, 5, 3) { Priority = priority }, Clock.NowMs());
        var now = Clock.NowMs();
        return (await lifecycle.ClaimAsync(new JobMessage(id, 1, "echo.render"), "worker-1", now + 60_000, now))!;
    }

    [Fact]
    public async Task ABareMessagesClaimCarriesTheUsersWeightAndTheRowsPriority()
    {
        _store.Store.Write(c =>
        {
            UserStore.Create(c, "ann", false, 100, null);
            return c.Execute("UPDATE users SET weight = 4 WHERE name = 'ann'");
        });

        var job = await ClaimBare("ann", new string('a', 32), 8);

        Assert.Equal(new JobMessage(job.RequestId, 1, "echo.render"), job.Message);
        Assert.Equal(job.UserId, job.Message.UserId);
        Assert.Equal(8, job.Message.Priority);
        Assert.Equal(4, job.Message.Weight);
    }

    [Fact]
    public async Task AUserWithoutAWeightOfTheirOwnHasTheirPlansAndWithoutAPlanOne()
    {
        _store.Store.Write(c =>
        {
            UserStore.Create(c, "bob", false, 100, null);
            UserStore.Create(c, "cat", false, 100, null);
            c.Execute("INSERT INTO plans (name, weight, created_at, updated_at) VALUES ('gold', 7, 0, 0)");
            return c.Execute("UPDATE users SET plan = 'gold' WHERE name = 'bob'");
        });

        Assert.Equal(7, (await ClaimBare("bob", new string('b', 32), 5)).Weight);
        Assert.Equal(1, (await ClaimBare("cat", new string('c', 32), 5)).Weight);
    }
}

public sealed class ClaimedMessageOnSqlite() : ClaimedMessageTests(StoreKind.Sqlite);

public sealed class ClaimedMessageOnPostgres() : ClaimedMessageTests(StoreKind.Postgres);
