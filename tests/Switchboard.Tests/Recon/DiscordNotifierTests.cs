using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Config;
using Switchboard.Outbound;
using Switchboard.Recon;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Recon;

/// <summary>
/// Alert changes reach a fake Discord webhook on 127.0.0.1 (the fake upstream server, answering
/// 204 or 429): once when firing, once when resolved, retried on 429, rate-limited (the excess
/// held and sent as one digest), and never holding up the caller.
/// </summary>
public sealed class DiscordNotifierTests : IAsyncLifetime
{
    /// <summary>The fake webhook listens on 127.0.0.1, which outbound calls may reach only when allowed.</summary>
    private static readonly OutboundOptions Loopback = new() { AllowLoopback = true };

    private FakeOpenAi _discord = null!;
    private ReconConfig _config = ReconConfig.Defaults;
    private DiscordNotifier _notifier = null!;

    public async Task InitializeAsync()
    {
        _discord = await FakeOpenAi.StartAsync();
        _discord.Fallback = _ => FakeReply.Text(204, "");
        _config = ReconConfig.Defaults with { DiscordWebhook = _discord.Address + "/api/webhooks/1/token" };
        _notifier = new DiscordNotifier(() => _config, NullLogger<DiscordNotifier>.Instance, Loopback, retryBase: TimeSpan.FromMilliseconds(50));
        await _notifier.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _notifier.StopAsync(CancellationToken.None);
        _notifier.Dispose();
        await _discord.DisposeAsync();
    }

    private static AlertCondition Old(string handler) => new(AlertRules.OldestQueued, handler, $"the oldest queued request of {handler} waited 400 s", TimeSpan.Zero);

    [Fact]
    public async Task AnAlertIsSentOnceWhenItFiresAndOnceWhenItResolves()
    {
        var engine = new AlertEngine(_notifier, NullLogger<AlertEngine>.Instance);
        engine.Evaluate([Old("openai.chat")], 1_000);
        engine.Evaluate([Old("openai.chat")], 2_000);
        engine.Evaluate([Old("openai.chat")], 3_000);
        Assert.Single(engine.Firing);
        engine.Evaluate([], 4_000);
        Assert.Empty(engine.Firing);

        var calls = await _discord.WaitForCalls(2, TimeSpan.FromSeconds(10));
        await Task.Delay(300); // time passes on purpose: no third call may come
        Assert.Equal(2, _discord.Calls.Count);
        Assert.All(calls, c => Assert.Equal("/api/webhooks/1/token", c.Path));
        Assert.StartsWith("[FIRING] oldest_queued openai.chat: the oldest queued request", calls[0].Json["content"]!.GetValue<string>());
        Assert.Equal("FIRING: oldest_queued (openai.chat)", calls[0].Json["embeds"]![0]!["title"]!.GetValue<string>());
        Assert.StartsWith("[RESOLVED] oldest_queued openai.chat", calls[1].Json["content"]!.GetValue<string>());
        Assert.Empty(calls[1].Json["allowed_mentions"]!["parse"]!.AsArray());
    }

    [Fact]
    public async Task AConditionMustHoldForItsDurationBeforeFiring()
    {
        var engine = new AlertEngine(_notifier, NullLogger<AlertEngine>.Instance);
        var noExecutor = new AlertCondition(AlertRules.NoExecutor, "echo.render", "3 queued and no executor", TimeSpan.FromSeconds(30));
        engine.Evaluate([noExecutor], 0);
        engine.Evaluate([noExecutor], 29_000);
        Assert.Empty(engine.Firing);
        engine.Evaluate([], 29_500);
        engine.Evaluate([noExecutor], 30_000);
        Assert.Empty(engine.Firing);
        engine.Evaluate([noExecutor], 60_000);
        Assert.Equal(30_000, Assert.Single(engine.Firing).SinceMs);
        await _discord.WaitForCalls(1, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A429IsRetriedAfterDiscordsRetryAfterAndTheMessageArrivesOnce()
    {
        _discord.Enqueue(FakeReply.Json(429, new System.Text.Json.Nodes.JsonObject { ["message"] = "You are being rate limited.", ["retry_after"] = 0.4, ["global"] = false }));
        _notifier.Post(new AlertNotice(true, "unreachable", "redis", "redis cannot be reached", 1_000, 1_000));

        var calls = await _discord.WaitForCalls(2, TimeSpan.FromSeconds(10));
        Assert.True(calls[1].ReceivedAt - calls[0].ReceivedAt >= TimeSpan.FromSeconds(0.39), $"retried after {calls[1].ReceivedAt - calls[0].ReceivedAt}");
        Assert.Equal(calls[0].Body, calls[1].Body);
        await Task.Delay(300); // time passes on purpose: no third call may come
        Assert.Equal(2, _discord.Calls.Count);
        await Delivered(_notifier, 1);
    }

    [Fact]
    public async Task A429WithOnlyARetryAfterHeaderIsRetriedAfterIt()
    {
        _discord.Enqueue(FakeReply.Text(429, "slow down").WithHeader("Retry-After", "1"));
        _notifier.Post(new AlertNotice(true, "budget", "openai", "used 95%", 1_000, 1_000));

        var calls = await _discord.WaitForCalls(2, TimeSpan.FromSeconds(10));
        Assert.True(calls[1].ReceivedAt - calls[0].ReceivedAt >= TimeSpan.FromSeconds(0.95));
        await Delivered(_notifier, 1);
    }

    /// <summary>Waits until the notifier counts <paramref name="count"/> messages delivered: the fake records a call before it answers, the notifier counts after.</summary>
    private static async Task Delivered(DiscordNotifier notifier, long count)
    {
        await Wait.For(() => notifier.Delivered, delivered => delivered >= count, TimeSpan.FromSeconds(10), $"{count} message(s) delivered");
        Assert.Equal(count, notifier.Delivered);
    }

    [Fact]
    public async Task ServerErrorsAreRetriedABoundedNumberOfTimes()
    {
        _discord.Fallback = _ => FakeReply.Text(502, "bad gateway");
        _notifier.Post(new AlertNotice(true, "budget", "openai", "used 95%", 1_000, 1_000));

        await _discord.WaitForCalls(DiscordNotifier.MaxAttempts, TimeSpan.FromSeconds(10));
        await Task.Delay(1_000); // time passes on purpose: no attempt past the last may come
        Assert.Equal(DiscordNotifier.MaxAttempts, _discord.Calls.Count);
        Assert.Equal(0, _notifier.Delivered);
    }

    [Fact]
    public async Task MessagesOverTheRateLimitAreHeldAndSentAsOneDigestWhenTheLimitAllows()
    {
        _config = _config with { MaxMessagesPerMinute = 2 };
        // A "minute" of five seconds, so the held changes go out within the test; long enough
        // for the first two sends on a busy machine. Every change is queued before it starts.
        using var notifier = new DiscordNotifier(() => _config, NullLogger<DiscordNotifier>.Instance, Loopback, window: TimeSpan.FromSeconds(5));
        for (var i = 0; i < 5; i++)
        {
            notifier.Post(new AlertNotice(true, "error_rate", $"h{i}", $"h{i} failing", 1_000, 1_000));
        }
        notifier.Post(new AlertNotice(false, "error_rate", "h2", "h2 failing", 2_000, 1_000));
        await notifier.StartAsync(CancellationToken.None);

        var calls = await _discord.WaitForCalls(3, TimeSpan.FromSeconds(20));
        await Delivered(notifier, 3);
        await Task.Delay(500); // time passes on purpose: no fourth message may come
        await notifier.StopAsync(CancellationToken.None);

        Assert.Equal(3, _discord.Calls.Count);
        Assert.StartsWith("[FIRING] error_rate h0", calls[0].Json["content"]!.GetValue<string>());
        Assert.StartsWith("[FIRING] error_rate h1", calls[1].Json["content"]!.GetValue<string>());
        Assert.True(calls[2].ReceivedAt - calls[0].ReceivedAt >= TimeSpan.FromSeconds(4.5), $"digest after {calls[2].ReceivedAt - calls[0].ReceivedAt}");
        // The rest in one message, oldest first; h2 fired and resolved while held.
        Assert.Equal(
            [
                "3 alert changes held back by the rate limit (discord.max_per_minute):",
                "[FIRED AND RESOLVED] error_rate h2: h2 failing",
                "[FIRING] error_rate h3: h3 failing",
                "[FIRING] error_rate h4: h4 failing",
            ],
            calls[2].Json["content"]!.GetValue<string>().Split('\n'));
        Assert.Equal(3, calls[2].Json["embeds"]!.AsArray().Count);
    }

    [Fact]
    public void TheSuppressedCountIsToldInTheNextMessage()
    {
        var payload = DiscordNotifier.Payload(new AlertNotice(false, "error_rate", "h", "failing", 1_000, 500), suppressed: 3);
        Assert.Contains("3 earlier alert messages were not sent", payload["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task PostingNeverWaitsForASlowWebhook()
    {
        _discord.Fallback = _ => FakeReply.Text(204, "").After(TimeSpan.FromSeconds(30));
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 1_000; i++)
        {
            _notifier.Post(new AlertNotice(true, "error_rate", $"h{i}", "failing", 1_000, 1_000));
        }
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"posting took {watch.Elapsed}");
        await _discord.WaitForCalls(1, TimeSpan.FromSeconds(10));
    }
}
