using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using Switchboard.Queue;
using Switchboard.Tests.QueueContract;

namespace Switchboard.Tests.Groups;

/// <summary>
/// The Redis queue routes each message to its handler's stream, and a consumer reads only the
/// streams of the handlers it serves: another group's backlog is never in its way.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisRoutingTests : IAsyncLifetime
{
    private readonly RedisSettings _settings = RedisTestServer.Settings();
    private readonly List<RedisJobQueue> _owned = [];
    private IConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisTestServer.Connect(_settings);

    public async Task DisposeAsync()
    {
        foreach (var queue in Enumerable.Reverse(_owned))
        {
            await queue.DisposeAsync();
        }
        await _redis.DisposeAsync();
    }

    private RedisJobQueue Group(string consumer, params string[] handlers)
    {
        var queue = new RedisJobQueue(_redis, _settings, consumer, TimeSpan.FromMinutes(5), NullLogger<RedisJobQueue>.Instance, RedisTestServer.FastOptions, handlers);
        _owned.Add(queue);
        return queue;
    }

    private static JobMessage Message(string handler) => new($"req_{Guid.NewGuid():N}", 1, handler);

    [Fact]
    public async Task EachConsumerReceivesOnlyTheMessagesOfTheHandlersItServes()
    {
        var chat = Group("chat-1", "openai.chat", "openai.image");
        var echo = Group("echo-1", "echo.render");
        var sent = Enumerable.Range(0, 30).Select(i => Message((i % 3) switch { 0 => "openai.chat", 1 => "openai.image", _ => "echo.render" })).ToList();
        foreach (var message in sent)
        {
            await chat.EnqueueAsync(message);
        }
        await chat.FlushAsync();

        var toChat = await ReadAll(chat, 20);
        var toEcho = await ReadAll(echo, 10);

        Assert.Equal(sent.Where(m => m.Handler != "echo.render").Select(m => m.RequestId).Order(), toChat.Select(d => d.Message.RequestId).Order());
        Assert.All(toChat, d => Assert.NotEqual("echo.render", d.Message.Handler));
        Assert.Equal(sent.Where(m => m.Handler == "echo.render").Select(m => m.RequestId).Order(), toEcho.Select(d => d.Message.RequestId).Order());
        Assert.All(toEcho, d => Assert.Equal("echo.render", d.Message.Handler));
        // Nothing more for either: the other group's messages never reach them.
        Assert.Null(await QueueReads.ReadWithin(echo, TimeSpan.FromMilliseconds(300)));
        Assert.Null(await QueueReads.ReadWithin(chat, TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task AGroupsBacklogDoesNotDelayAnotherGroupsMessages()
    {
        var producer = Group("api");
        var echo = Group("echo-1", "echo.render");
        // 5,000 messages of a handler whose executors are gone, then one of another group.
        for (var i = 0; i < 5000; i++)
        {
            await producer.EnqueueAsync(Message("openai.chat"));
        }
        var urgent = Message("echo.render");
        await producer.EnqueueAsync(urgent);
        await producer.FlushAsync();

        var started = System.Diagnostics.Stopwatch.StartNew();
        var delivery = await QueueReads.ReadWithin(echo, TimeSpan.FromSeconds(5));

        Assert.Equal(urgent, delivery?.Message);
        // One read, not a walk through the backlog: well under the fetch's block time.
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(1), $"the other group's message took {started.Elapsed.TotalMilliseconds:0} ms");
        var depths = await producer.DepthByHandlerAsync();
        Assert.Equal(5000, depths["openai.chat"]);
        Assert.Equal(0, depths["echo.render"]);
    }

    [Fact]
    public async Task AMessageRetriedLaterComesBackToItsOwnHandlersConsumers()
    {
        var chat = Group("chat-1", "openai.chat");
        var echo = Group("echo-1", "echo.render");
        var message = Message("openai.chat");
        chat.EnqueueLater(message, TimeSpan.FromMilliseconds(100));
        await chat.FlushAsync();

        var delivery = await QueueReads.ReadWithin(chat, TimeSpan.FromSeconds(5));

        Assert.Equal(message, delivery?.Message);
        Assert.Equal("openai.chat", delivery!.Message.Handler);
        Assert.Null(await QueueReads.ReadWithin(echo, TimeSpan.FromMilliseconds(300)));
        await chat.AckAsync(delivery);
        Assert.Equal([message], await chat.MissingAsync([message]));
    }

    [Fact]
    public async Task AnEntryOfADeadConsumerIsReclaimedOnlyByAConsumerOfItsHandler()
    {
        var dying = new RedisJobQueue(_redis, _settings, "chat-dying", TimeSpan.FromMilliseconds(500), NullLogger<RedisJobQueue>.Instance, RedisTestServer.FastOptions, ["openai.chat"]);
        var message = Message("openai.chat");
        await dying.EnqueueAsync(message);
        await dying.FlushAsync();
        Assert.NotNull(await QueueReads.ReadWithin(dying, TimeSpan.FromSeconds(5)));
        // Dies without acking: the entry stays pending for it.
        await dying.DisposeAsync();

        var echo = new RedisJobQueue(_redis, _settings, "echo-1", TimeSpan.FromMilliseconds(500), NullLogger<RedisJobQueue>.Instance, RedisTestServer.FastOptions, ["echo.render"]);
        var chat = new RedisJobQueue(_redis, _settings, "chat-2", TimeSpan.FromMilliseconds(500), NullLogger<RedisJobQueue>.Instance, RedisTestServer.FastOptions, ["openai.chat"]);
        _owned.AddRange([echo, chat]);

        Assert.Equal(message, (await QueueReads.ReadWithin(chat, TimeSpan.FromSeconds(5)))?.Message);
        Assert.Null(await QueueReads.ReadWithin(echo, TimeSpan.FromMilliseconds(800)));
    }

    private static async Task<List<JobDelivery>> ReadAll(IJobQueue queue, int count)
    {
        var deliveries = new List<JobDelivery>();
        while (deliveries.Count < count && await QueueReads.ReadWithin(queue, TimeSpan.FromSeconds(5)) is { } delivery)
        {
            deliveries.Add(delivery);
            await queue.AckAsync(delivery);
        }
        return deliveries;
    }

    [Fact]
    public async Task CopiesLeftInTheLayoutBeforeOneStreamPerHandlerAreForgottenSoReconSendsThemAgain()
    {
        var queue = Group("chat-1", "openai.chat");
        var (waiting, delayed, current) = (Message("openai.chat"), Message("openai.chat"), Message("openai.chat"));
        // What an earlier build left: one stream for every handler, one delayed set, the held counts.
        var db = _redis.GetDatabase();
        await db.StreamAddAsync(_settings.Key("jobs"), RedisQueueKeys.Field, waiting.ToString());
        await db.SortedSetAddAsync(_settings.Key("delayed"), $"n1/{delayed}", 1);
        await db.HashIncrementAsync(_settings.Key("held"), waiting.ToString());
        await db.HashIncrementAsync(_settings.Key("held"), delayed.ToString());
        await queue.EnqueueAsync(current);
        await queue.FlushAsync();
        Assert.Empty(await queue.MissingAsync([waiting, delayed, current]));

        Assert.Equal(2, await queue.ForgetLegacyCopiesAsync());

        Assert.Equal([waiting, delayed], await queue.MissingAsync([waiting, delayed, current]));
        Assert.False(await db.KeyExistsAsync(_settings.Key("jobs")));
        Assert.False(await db.KeyExistsAsync(_settings.Key("delayed")));
        Assert.Equal(0, await queue.ForgetLegacyCopiesAsync());
        // The current layout is untouched: its message is still delivered.
        Assert.Equal(current, (await QueueReads.ReadWithin(queue, TimeSpan.FromSeconds(5)))?.Message);
    }
}

/// <summary>The embedded queue: one process, so routing is a filter; the other handlers' messages wait, held.</summary>
public sealed class InProcessRoutingTests
{
    [Fact]
    public async Task MessagesOfHandlersThisProcessDoesNotServeWaitHeldAndAreNeverDelivered()
    {
        using var queue = new InProcessJobQueue(HandlerPatterns.Parse("openai.*"));
        var served = new JobMessage("a", 1, "openai.chat");
        var unserved = new JobMessage("b", 1, "echo.render");
        await queue.EnqueueAsync(unserved);
        queue.EnqueueLater(unserved with { Run = 2 }, TimeSpan.Zero);
        await queue.EnqueueAsync(served);

        Assert.Equal(served, (await QueueReads.ReadWithin(queue, TimeSpan.FromSeconds(1)))?.Message);
        Assert.Null(await QueueReads.ReadWithin(queue, TimeSpan.FromMilliseconds(200)));
        // Held: recon sends nothing again.
        Assert.Empty(await queue.MissingAsync([unserved, unserved with { Run = 2 }]));
        Assert.Equal(2, (await queue.DepthByHandlerAsync())["echo.render"]);
    }
}
