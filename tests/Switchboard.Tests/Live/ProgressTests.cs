using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Execution;
using Switchboard.Lifecycle;
using Switchboard.Live;
using Switchboard.Queue;
using Switchboard.Storage;
using Switchboard.Users;

namespace Switchboard.Tests.Live;

/// <summary>
/// A running handler's progress and partial output through its host (<see cref="HandlerHost"/>,
/// <see cref="JobProgress"/>) on the real stores: progress is stored on the row as the request
/// object shows it, throttled (many reports, few writes, the last one kept), announced to the
/// request's followers; a stale attempt's report changes nothing; a new attempt starts without
/// the old one's progress; partial output reaches followers in bounded pieces and is never stored.
/// </summary>
public abstract class ProgressTests(StoreKind kind) : IAsyncLifetime
{
    private const string Owner = "worker-1";
    private readonly TestStore _store = TestStore.Create(kind);
    private readonly ChangeHub _hub = new();
    private RequestLifecycle _lifecycle = null!;
    private IChangePublisher _publisher = null!;
    private string _id = "";

    public Task InitializeAsync()
    {
        _lifecycle = RequestLifecycle.Bare(_store.Store);
        _publisher = new LocalChangePublisher(_hub);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    /// <summary>A request submitted and claimed by <see cref="Owner"/> (its first attempt, or the next after a retry).</summary>
    private async Task<ClaimedJob> Claimed(bool submit = true)
    {
        if (submit)
        {
            var user = _store.Store.Write(c => UserStore.Create(c, "ann", false, 100, null));
            _id = new string('a', 32);
            await _lifecycle.SubmitAsync(new(_id, user.Id, "text", "shout", "echo.render", "{}", "Say x", "{}", 1, null, 5, 3), Clock.NowMs());
        }
        var now = Clock.NowMs();
        return (await _lifecycle.ClaimAsync(new JobMessage(_id, 1, "echo.render"), Owner, now + 60_000, now))!;
    }

    private (HandlerHost Host, JobProgress Progress) HostOf(ClaimedJob job, string owner = Owner)
    {
        var progress = new JobProgress(_lifecycle, _publisher, job, owner, NullLogger.Instance);
        return (new HandlerHost(_store.Store, job, progress, _publisher), progress);
    }

    /// <summary>The request object as GET shows it.</summary>
    private JsonObject Shown() => _store.Query(c => RequestRecord.Load(c, _id))!.ToJson();

    [Fact]
    public async Task ManyReportsAreFewWritesAndTheLastIsOnTheRowAsTheRequestObjectShowsIt()
    {
        var job = await Claimed();
        var (host, progress) = HostOf(job);
        using var follower = _hub.Subscribe(_id);
        Assert.Null(Shown()["progress"]);

        var started = Environment.TickCount64;
        for (var i = 1; i <= 2000; i++)
        {
            host.ReportProgress(_id, i / 2000.0, $"step {i}");
            if (i % 100 == 0)
            {
                await Task.Delay(25);
            }
        }
        var elapsed = Environment.TickCount64 - started;
        await progress.FlushAsync();

        // One write per 250 ms at most (and the flush): 2,000 reports are a handful of writes.
        Assert.InRange(progress.Writes, 1, (elapsed / 250) + 2);
        var shown = Shown()["progress"]!.AsObject();
        Assert.Equal(1.0, shown["fraction"]!.GetValue<double>());
        Assert.Equal("step 2000", shown["message"]!.GetValue<string>());
        Assert.True(DateTimeOffset.TryParse(shown["at"]!.GetValue<string>(), out _));
        Assert.True(follower.TryRead(out var change));
        Assert.Equal(ChangeKind.Progress, change.Kind);
        // Reports after the outcome's flush are not written.
        host.ReportProgress(_id, 0.1, "late");
        await Task.Delay(400);
        Assert.Equal("step 2000", Shown()["progress"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task AStaleAttemptsReportChangesNothing()
    {
        var job = await Claimed();
        var (host, progress) = HostOf(job);
        host.ReportProgress(_id, 0.5, "mine");
        await progress.FlushAsync();

        foreach (var stale in new[] { job with { Attempt = job.Attempt + 1 }, job with { Run = job.Run + 1 } })
        {
            Assert.False(await _lifecycle.ReportProgressAsync(stale, Owner, """{"fraction":0.9}"""));
        }
        Assert.False(await _lifecycle.ReportProgressAsync(job, "worker-2", """{"fraction":0.9}"""));
        var (other, otherProgress) = HostOf(job, "worker-2");
        using var follower = _hub.Subscribe(_id);
        other.ReportProgress(_id, 0.9, "not mine");
        await otherProgress.FlushAsync();

        Assert.Equal("mine", Shown()["progress"]!["message"]!.GetValue<string>());
        Assert.Equal(0, otherProgress.Writes);
        Assert.False(follower.TryRead(out _));
    }

    [Fact]
    public async Task ARetryClearsTheProgressAndTheNextAttemptStartsWithout()
    {
        var job = await Claimed();
        var (host, progress) = HostOf(job);
        host.ReportProgress(_id, 0.7, "first attempt");
        await progress.FlushAsync();
        Assert.NotNull(Shown()["progress"]);

        Assert.True(await _lifecycle.RetryAsync(job, Owner, "rate_limited", "slow down", Clock.NowMs() - 1));
        Assert.Null(Shown()["progress"]);
        var next = await Claimed(submit: false);
        Assert.Equal(job.Attempt + 1, next.Attempt);
        Assert.Null(Shown()["progress"]);
    }

    [Fact]
    public async Task MessagesLoseControlCharactersAndAreCapped()
    {
        var job = await Claimed();
        var (host, progress) = HostOf(job);
        host.ReportProgress(_id, 0.25, "\u001b[31mred\u001b[0m\r\nline " + new string('x', 500));
        await progress.FlushAsync();

        var message = Shown()["progress"]!["message"]!.GetValue<string>();
        Assert.Equal(JobProgress.MaxMessageChars, message.Length);
        Assert.StartsWith("[31mred[0mline xxx", message, StringComparison.Ordinal);
        Assert.DoesNotContain(message, char.IsControl);
        Assert.Null(JobProgress.Clean(" \n\t "));
    }

    [Fact]
    public async Task PartialOutputReachesFollowersInBoundedPiecesAndIsNotStored()
    {
        var job = await Claimed();
        var (host, _) = HostOf(job);
        using var follower = _hub.Subscribe(_id);
        // A surrogate pair straddles the first boundary: it is kept whole.
        var text = new string('a', RequestChange.MaxPartialChars - 1) + "😀" + new string('b', 1500);

        host.ReportPartial(_id, text);

        var pieces = new List<string>();
        while (follower.TryRead(out var change))
        {
            Assert.Equal(ChangeKind.Partial, change.Kind);
            pieces.Add(change.Text!);
        }
        Assert.Equal(text, string.Concat(pieces));
        Assert.All(pieces, p => Assert.InRange(p.Length, 1, RequestChange.MaxPartialChars));
        Assert.Equal(RequestChange.MaxPartialChars - 1, pieces[0].Length);
        Assert.Null(Shown()["progress"]);
        Assert.Equal("[]", Shown()["results"]!.ToJsonString());
    }
}

public sealed class ProgressOnSqlite() : ProgressTests(StoreKind.Sqlite);

public sealed class ProgressOnPostgres() : ProgressTests(StoreKind.Postgres);
