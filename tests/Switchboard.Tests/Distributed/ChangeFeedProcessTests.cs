using System.Diagnostics;
using System.Net.WebSockets;

namespace Switchboard.Tests.Distributed;

/// <summary>
/// The change feed between OS processes. Nothing polls a request for its followers any more, so
/// each of these fails when the feed is not wired: a WebSocket on one api process sees the
/// changes an executor (or another serve process) commits, and a cancel accepted by one process
/// stops the handler running in another within a second, long before its heartbeat would.
/// </summary>
public sealed class ChangeFeedOnRedisTests() : ProcessTestBase(Catalog)
{
    internal static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: feed, action: slow, handler: echo.render, price: 1, prompt_template: "Slow {n}", params: {delay_ms: 700}}
          - {service: feed, action: stuck, handler: echo.render, price: 1, prompt_template: "Stuck {n}", params: {delay_ms: 60000}}
        """);

    internal static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>The heartbeat would see a cancel only every 10 s (a third of the lease).</summary>
    private static readonly Dictionary<string, string> LongLease = new()
    {
        ["Switchboard__LeaseSeconds"] = "30",
        ["Logging__LogLevel__Switchboard.Execution.FeedCancelFollower"] = "Debug",
    };

    [Fact]
    public async Task ChangesCommittedByTheExecutorReachASocketOnTheApiProcess()
    {
        var api = await Start("api");
        var executor = await Start("executor", "--workers", "4");
        using var client = api.Client(Key);

        var id = await client.SubmitAsync("/svc/feed/slow/", new { n = 1 });
        using var socket = await LiveSockets.Connect(api, id, Key, Timeout);
        var messages = await LiveSockets.ReadToClose(socket, Timeout);

        Assert.True(executor.Logged($"Claimed {id}"));
        Assert.Contains(messages, m => m["status"]!.GetValue<string>() == "running");
        Assert.Equal("succeeded", messages[^1]["status"]!.GetValue<string>());
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    [Fact]
    public async Task ACancelInTheDistributedModeStopsTheRunningHandlerWithinOneSecond()
    {
        var api = await Start("api", LongLease);
        var other = await Start("api", LongLease);
        var executor = await Start("executor", LongLease, "--workers", "4");
        using var client = api.Client(Key);
        var id = await client.SubmitAsync("/svc/feed/stuck/", new { n = 2 });
        await Wait.Until(() => executor.Logged($"Claimed {id}"), Timeout, "the executor to run the request");
        // A follower on the other api process sees the cancel too.
        using var socket = await LiveSockets.Connect(other, id, Key, Timeout);
        var following = LiveSockets.ReadToClose(socket, Timeout);

        var response = await client.DeleteAsync($"/svc/request/{id}/");
        var answered = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Wait.Until(() => executor.Logged($"Ended {id}"), TimeSpan.FromSeconds(15), "the executor to stop the handler", poll: TimeSpan.FromMilliseconds(10));
        var stopped = answered.Elapsed;

        Assert.True(stopped < TimeSpan.FromSeconds(1), $"the handler stopped {stopped.TotalMilliseconds:0} ms after the cancel was answered");
        Assert.True(executor.Logged($"Stopping {id}"), "stopped by the feed, not by the heartbeat");
        Assert.Equal("cancelled", (await following)[^1]["status"]!.GetValue<string>());
    }
}

/// <summary>Several serve processes on one PostgreSQL store without Redis: the feed is PostgreSQL NOTIFY.</summary>
public sealed class ChangeFeedOnPostgresTests : AppTests
{
    private static readonly TimeSpan Timeout = ChangeFeedOnRedisTests.Timeout;

    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Postgres, catalog: ChangeFeedOnRedisTests.Catalog);
        _alice = await app.AddUserAsync("alice", 1000);
        return app;
    }

    private Task<SwitchboardProcess> Serve() =>
        App.StartServeAsync("--workers", "4", "--Switchboard:LeaseSeconds=30", "--Logging:LogLevel:Switchboard.Execution.JobRunner=Debug");

    [Fact]
    public async Task ASocketOnOneServeProcessSeesTheChangesOfAnother()
    {
        var (a, b) = (await Serve(), await Serve());
        using var client = a.Client(_alice.Key);

        var id = await client.SubmitAsync("/svc/feed/slow/", new { n = 3 });
        using var socket = await LiveSockets.Connect(b, id, _alice.Key, Timeout);
        var messages = await LiveSockets.ReadToClose(socket, Timeout);

        Assert.True(a.Logged($"Claimed {id}"));
        Assert.Equal("succeeded", messages[^1]["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task ACancelAcceptedByOneServeProcessStopsTheHandlerOfAnotherWithinOneSecond()
    {
        var (a, b) = (await Serve(), await Serve());
        var id = await a.Client(_alice.Key).SubmitAsync("/svc/feed/stuck/", new { n = 4 });
        await Wait.Until(() => a.Logged($"Claimed {id}"), Timeout, "serve A to run the request");

        var response = await b.Client(_alice.Key).DeleteAsync($"/svc/request/{id}/");
        var answered = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Wait.Until(() => a.Logged($"Ended {id}"), TimeSpan.FromSeconds(15), "serve A to stop the handler", poll: TimeSpan.FromMilliseconds(10));

        Assert.True(answered.Elapsed < TimeSpan.FromSeconds(1), $"the handler stopped {answered.Elapsed.TotalMilliseconds:0} ms after the cancel was answered");
    }
}
