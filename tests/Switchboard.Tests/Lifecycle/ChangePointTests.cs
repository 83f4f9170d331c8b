using System.Collections.Concurrent;
using Switchboard.Credits;
using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;
using Switchboard.Users;

namespace Switchboard.Tests.Lifecycle;

/// <summary>
/// The lifecycle's change point: an in-unit handler's writes commit with its transition or not
/// at all, and an observer sees each committed transition once, after the commit.
/// </summary>
public abstract class ChangePointTests(StoreKind kind) : IAsyncLifetime
{
    private readonly TestStore _store = TestStore.Create(kind);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        Ledger.AssertBalanced(_store);
        await _store.DisposeAsync();
    }

    /// <summary>Writes a row of its own in the transition's unit (as an outbox would); throws after writing when told to.</summary>
    private sealed class MarkingHandler(string state, bool fail = false) : IStateHandler
    {
        public string? Kind => RequestKind.Offer;

        public string? State => state;

        public int Calls { get; private set; }

        public void Apply(LifecycleUnit unit, in Transition transition)
        {
            Calls++;
            unit.Connection.Execute("INSERT INTO meta (key, value) VALUES (@k, 1)", ("@k", Mark(transition.RequestId, transition.To)));
            if (fail)
            {
                throw new InvalidOperationException("the handler failed");
            }
        }
    }

    /// <summary>Records each transition with the status a fresh connection reads at that moment: committed, or not yet.</summary>
    private sealed class RecordingObserver(TestStore store) : ITransitionObserver
    {
        public string? Kind => null;

        public string? State => null;

        public ConcurrentQueue<(string Id, string? From, string To, string? Stored)> Seen { get; } = new();

        public void Committed(in Transition transition)
        {
            var id = transition.RequestId;
            Seen.Enqueue((id, transition.From, transition.To, store.Query(c => c.Scalar<string>("SELECT status FROM requests WHERE id = @id", ("@id", id)))));
        }
    }

    private static string Mark(string id, string state) => $"hook:{id}:{state}";

    private long? Marked(string id, string state) =>
        _store.Query(c => c.Scalar<long?>("SELECT value FROM meta WHERE key = @k", ("@k", Mark(id, state))));

    private UserInfo User(string name, long credits) => _store.Store.Write(c => UserStore.Create(c, name, false, credits, null));

    private static NewRequest Request(UserInfo user, string id, long price = 5) =>
        new(id, user.Id, "text", "shout", "echo.render", "{\"word\":\"x\"}", "Say x", "{}", 1, null, price, 3);

    private static string Id(char c) => new(c, 32);

    [Fact]
    public async Task AnInUnitHandlersWriteCommitsWithItsTransition()
    {
        var handler = new MarkingHandler(RequestStatus.Queued);
        var lifecycle = new RequestLifecycle(_store.Store, [handler], []);
        var user = User("ann", 100);

        var result = await lifecycle.SubmitAsync(Request(user, Id('a')), Clock.NowMs());

        Assert.Equal(SubmitOutcome.Created, result.Outcome);
        Assert.Equal(1, handler.Calls);
        Assert.Equal(1, Marked(Id('a'), RequestStatus.Queued));
        Assert.Equal(95, Ledger.Balance(_store, user.Id));
    }

    [Fact]
    public async Task AHandlerThatThrowsRollsBackItsTransitionAndItsOwnWrite()
    {
        var lifecycle = new RequestLifecycle(_store.Store, [new MarkingHandler(RequestStatus.Queued, fail: true)], []);
        var user = User("bea", 100);

        await Assert.ThrowsAsync<InvalidOperationException>(() => lifecycle.SubmitAsync(Request(user, Id('b')), Clock.NowMs()));

        Assert.Null(Marked(Id('b'), RequestStatus.Queued));
        Assert.Equal(0, Ledger.RequestCount(_store));
        Assert.Equal(100, Ledger.Balance(_store, user.Id));
        Assert.Equal(0, Ledger.Count(_store, "charge", Id('b')));
    }

    [Fact]
    public async Task ATransitionWhoseGuardFailsCallsNoHandlerAndIsNotObserved()
    {
        var handler = new MarkingHandler(RequestStatus.Succeeded);
        var observer = new RecordingObserver(_store);
        var lifecycle = new RequestLifecycle(_store.Store, [handler], [observer]);
        var user = User("cyd", 100);
        await lifecycle.SubmitAsync(Request(user, Id('c')), Clock.NowMs());
        var now = Clock.NowMs();
        var job = await lifecycle.ClaimAsync(new JobMessage(Id('c'), 1, "echo.render"), "worker-1", now + 60_000, now);

        // Another owner's outcome: the claim's guard (owner, attempt, status) does not match.
        var written = await lifecycle.SucceedAsync(job!, "worker-2", "[\"x\"]", null);

        Assert.False(written);
        Assert.Equal(0, handler.Calls);
        Assert.Null(Marked(Id('c'), RequestStatus.Succeeded));
        Assert.DoesNotContain(observer.Seen, s => s.To == RequestStatus.Succeeded);
        Assert.Equal(RequestStatus.Running, _store.Query(c => c.Scalar<string>("SELECT status FROM requests WHERE id = @id", ("@id", Id('c')))));
    }

    [Fact]
    public async Task AnObserverSeesEachTransitionOnceAfterItsCommit()
    {
        var observer = new RecordingObserver(_store);
        var lifecycle = new RequestLifecycle(_store.Store, [], [observer]);
        var user = User("dan", 100);
        var (done, dropped) = (Id('d'), Id('e'));

        await lifecycle.SubmitAsync(Request(user, done), Clock.NowMs());
        await lifecycle.SubmitAsync(Request(user, dropped), Clock.NowMs());
        var now = Clock.NowMs();
        var job = await lifecycle.ClaimAsync(new JobMessage(done, 1, "echo.render"), "worker-1", now + 60_000, now);
        Assert.True(await lifecycle.SucceedAsync(job!, "worker-1", "[\"x\"]", null));
        var (cancelled, _) = await lifecycle.CancelAsync(dropped, user.Id, Clock.NowMs(), "the client");
        var (again, _) = await lifecycle.CancelAsync(dropped, user.Id, Clock.NowMs(), "the client");

        Assert.Equal(CancelOutcome.Cancelled, cancelled);
        Assert.Equal(CancelOutcome.AlreadyFinished, again);
        // Each once, in order, and the row already says so when the observer looks: after the commit.
        var expected = new (string Id, string? From, string To, string? Stored)[]
        {
            (done, null, RequestStatus.Queued, RequestStatus.Queued),
            (dropped, null, RequestStatus.Queued, RequestStatus.Queued),
            (done, RequestStatus.Queued, RequestStatus.Running, RequestStatus.Running),
            (done, RequestStatus.Running, RequestStatus.Succeeded, RequestStatus.Succeeded),
            (dropped, RequestStatus.Queued, RequestStatus.Cancelled, RequestStatus.Cancelled),
        };
        Assert.Equal(expected, observer.Seen.ToArray());
        Assert.Equal(100, Ledger.Balance(_store, user.Id) + 5);
    }

    [Fact]
    public async Task WithNothingAttachedNoTransitionIsAttachedAndSubmitsWorkAsBefore()
    {
        var lifecycle = RequestLifecycle.Bare(_store.Store);

        Assert.All(RequestKind.All, k => Assert.All(RequestStatus.All, s => Assert.False(lifecycle.Attached(k, s))));
        var user = User("eve", 10);
        Assert.Equal(SubmitOutcome.Created, (await lifecycle.SubmitAsync(Request(user, Id('f')), Clock.NowMs())).Outcome);
        await Assert.ThrowsAsync<InsufficientCreditsException>(() => lifecycle.SubmitAsync(Request(user, Id('0'), price: 50), Clock.NowMs()));
    }
}

public sealed class ChangePointOnSqlite() : ChangePointTests(StoreKind.Sqlite);

public sealed class ChangePointOnPostgres() : ChangePointTests(StoreKind.Postgres);
