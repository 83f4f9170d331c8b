using System.Collections.Concurrent;
using StackExchange.Redis;
using Switchboard.Queue;
using Switchboard.Fairness;

namespace Switchboard.Tests.QueueContract;

/// <summary>
/// The Redis queue's fair order (Queue/RedisFairScripts.cs) against the suite's Redis: the same
/// order as <see cref="FairOrder{T}"/> (each test drains the queue and the C# order fed the same
/// jobs, and compares), the staging bound (a newcomer behind a 5,000-job backlog), nothing lost.
/// </summary>
public sealed class RedisFairQueueTests : IAsyncLifetime
{
    private const string Handler = "echo.render";
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private RedisQueues _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisQueues.Open();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    private RedisJobQueue NewQueue(string consumer, Action<RedisJobQueueOptions>? tune = null)
    {
        var options = RedisTestServer.FastOptions;
        tune?.Invoke(options);
        return _redis.NewQueue(consumer, Lease, options: options);
    }

    private static JobMessage Job(string id, string user, int priority = Priorities.Default, int weight = 1) =>
        new(id, 1, Handler, user, priority, weight);

    private RedisKey Key(string suffix) => _redis.Settings.Key(suffix);

    /// <summary>One reader, one delivery at a time (the stream never holds more than one staged entry): the queue's order.</summary>
    private static async Task<List<string>> Drain(RedisJobQueue queue, int count)
    {
        var taken = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var delivery = await QueueReads.ReadWithin(queue, TimeSpan.FromSeconds(10));
            Assert.NotNull(delivery);
            taken.Add(delivery.Message.RequestId);
            await queue.AckAsync(delivery);
        }
        return taken;
    }

    private static List<string> Drain(FairOrder<string> order)
    {
        var taken = new List<string>();
        while (order.TryDequeue(0, out var item))
        {
            taken.Add(item);
        }
        return taken;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public async Task A_newcomer_behind_a_5000_job_backlog_is_delivered_within_one_round(int readers)
    {
        var queue = NewQueue("executor");
        for (var i = 0; i < 5000; i++)
        {
            await queue.EnqueueAsync(Job($"a{i}", "alice"));
        }
        await queue.FlushAsync();

        var log = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var loops = Enumerable.Range(0, readers).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var delivery = await QueueReads.ReadWithin(queue, TimeSpan.FromSeconds(1));
                if (delivery is not null)
                {
                    log.Enqueue(delivery.Message.RequestId);
                    await queue.AckAsync(delivery);
                }
            }
        })).ToList();
        while (log.Count < 50)
        {
            await Task.Delay(10);
        }

        var before = log.Count;
        await queue.EnqueueAsync(Job("b0", "bob"));
        await queue.FlushAsync();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!log.Contains("b0") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }
        await stop.CancelAsync();
        await Task.WhenAll(loops);

        var after = log.Skip(before).ToList();
        Assert.Contains("b0", after);
        // Ahead of Bob: what was in flight when he came (at most one staged entry and one fetched
        // delivery per waiting reader) and Alice's one turn. FIFO would put ~4,950 ahead.
        var ahead = after.IndexOf("b0");
        Assert.InRange(ahead, 0, (2 * readers) + 1);
    }

    [Fact]
    public async Task Weights_give_turns_in_proportion_and_order_and_positions_are_FairOrders()
    {
        var queue = NewQueue("executor");
        var order = new FairOrder<string>();
        for (var i = 0; i < 30; i++)
        {
            foreach (var (user, weight) in new[] { ("alice", 2), ("bob", 1), ("carol", 3) })
            {
                var id = $"{user[0]}{i}";
                await queue.EnqueueAsync(Job(id, user, weight: weight));
                order.Enqueue(id, user, Priorities.Default, weight, 0);
            }
        }
        await queue.FlushAsync();

        Assert.Equal(90, await queue.DepthAsync());
        foreach (var id in new[] { "a0", "b0", "c0", "a7", "b13", "c29", "a29", "b29" })
        {
            var user = id[0] switch { 'a' => "alice", 'b' => "bob", _ => "carol" };
            Assert.Equal(order.PositionOf(id, 0), await queue.PositionAsync(Job(id, user)));
        }
        Assert.Null(await queue.PositionAsync(Job("a0", "bob")));

        var drained = await Drain(queue, 90);
        Assert.Equal(Drain(order), drained);
        // 3 : 2 : 1, exact in each cycle of six turns while all three have jobs.
        Assert.All(drained.Take(60).Chunk(6), cycle =>
        {
            Assert.Equal(3, cycle.Count(x => x[0] == 'c'));
            Assert.Equal(2, cycle.Count(x => x[0] == 'a'));
            Assert.Equal(1, cycle.Count(x => x[0] == 'b'));
        });
        Assert.Equal(0, await queue.DepthAsync());
    }

    [Fact]
    public async Task A_higher_priority_goes_first_users_alternate_within_a_level_and_FIFO_within_a_flow()
    {
        var queue = NewQueue("executor");
        var order = new FairOrder<string>();
        var jobs = new List<(string Id, string User, int Priority)>();
        for (var i = 0; i < 10; i++)
        {
            jobs.Add(($"low{i}", "alice", 2));
            jobs.Add(($"mid{i}", "bob", 5));
            jobs.Add(($"midc{i}", "carol", 5));
            jobs.Add(($"high{i}", "dave", 8));
        }
        foreach (var (id, user, priority) in jobs)
        {
            await queue.EnqueueAsync(Job(id, user, priority));
            order.Enqueue(id, user, priority, 1, 0);
        }
        await queue.FlushAsync();

        var drained = await Drain(queue, jobs.Count);
        Assert.Equal(Drain(order), drained);
        Assert.Equal([.. Enumerable.Range(0, 10).Select(i => $"high{i}")], drained.Take(10));
        Assert.Equal([.. Enumerable.Range(0, 10).Select(i => $"low{i}")], drained.Skip(30));
    }

    [Fact]
    public async Task A_waiting_level_ages_up_past_a_higher_one()
    {
        var queue = NewQueue("executor", o => o.AgeStep = TimeSpan.FromMilliseconds(100));
        await queue.EnqueueAsync(Job("low", "alice", 0));
        await queue.FlushAsync();
        for (var i = 0; i < 20; i++)
        {
            await queue.EnqueueAsync(Job($"high{i}", "bob", 9));
        }
        await queue.FlushAsync();
        // Not a race: at least 9 age steps must pass (Redis clock) for level 0 to reach 9; more is the same.
        await Task.Delay(1200);

        var drained = await Drain(queue, 21);
        // Both levels count 9 now; level 0 waited longer, so it goes first.
        Assert.Equal("low", drained[0]);
    }

    [Fact]
    public async Task A_delayed_retry_goes_back_to_the_head_of_its_flow()
    {
        var queue = NewQueue("executor");
        var order = new FairOrder<string>();
        for (var i = 0; i < 5; i++)
        {
            foreach (var user in new[] { "alice", "bob" })
            {
                var id = $"{user[0]}{i}";
                await queue.EnqueueAsync(Job(id, user));
                order.Enqueue(id, user, Priorities.Default, 1, 0);
            }
        }
        await queue.FlushAsync();

        var first = await QueueReads.ReadWithin(queue, TimeSpan.FromSeconds(5));
        Assert.NotNull(first);
        Assert.True(order.TryDequeue(0, out var expected));
        Assert.Equal(expected, first.Message.RequestId);
        // The run failed transiently: its retry comes back after a backoff, at the head of its flow.
        // A delivery carries only id:run (the stream's format 1): the retry names its user again, as the executor's does.
        queue.EnqueueLater(Job(expected, "alice"), TimeSpan.FromMilliseconds(100));
        await queue.FlushAsync();
        await queue.AckAsync(first);
        order.EnqueueFirst(expected, "alice", Priorities.Default, 1, 0);
        while (await queue.DepthAsync() < 10)
        {
            await Task.Delay(20);
        }

        Assert.Equal(Drain(order), await Drain(queue, 10));
        Assert.Equal(0, await _redis.Db.HashLengthAsync(Key("held")));
        Assert.Equal(0, await _redis.Db.HashLengthAsync(Key($"fair:{Handler}:dmeta")));
    }

    [Fact]
    public async Task Two_executors_sharing_a_handler_get_every_job_once_and_nothing_stays_held()
    {
        var one = NewQueue("executor-1");
        var two = NewQueue("executor-2");
        var messages = Enumerable.Range(0, 2000)
            .Select(i => Job($"r{i}", $"user{i % 7}", priority: i % 3 == 0 ? 7 : 4, weight: 1 + (i % 3)))
            .ToList();
        foreach (var message in messages)
        {
            await (message.RequestId.GetHashCode() % 2 == 0 ? one : two).EnqueueAsync(message);
        }
        await one.FlushAsync();
        await two.FlushAsync();

        var seen = new ConcurrentDictionary<string, int>();
        async Task Work(RedisJobQueue queue)
        {
            while (true)
            {
                var delivery = await QueueReads.ReadWithin(queue, TimeSpan.FromSeconds(3));
                if (delivery is null)
                {
                    return;
                }
                seen.AddOrUpdate(delivery.Message.RequestId, 1, (_, n) => n + 1);
                await queue.AckAsync(delivery);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, 3).SelectMany(_ => new[] { Task.Run(() => Work(one)), Task.Run(() => Work(two)) }));

        Assert.Equal(messages.Count, seen.Count);
        Assert.All(seen.Values, n => Assert.Equal(1, n));
        Assert.Equal(0, await _redis.Db.HashLengthAsync(Key("held")));
        Assert.Equal(0, await one.DepthAsync());
        Assert.Equal(0, await _redis.Db.StreamLengthAsync(Key($"jobs:{Handler}")));
        for (var p = 0; p <= Priorities.Max; p++)
        {
            Assert.Equal(0, await _redis.Db.SortedSetLengthAsync(Key($"fair:{Handler}:lvl:{p}")));
        }
        Assert.Equal(0, await _redis.Db.HashLengthAsync(Key($"fair:{Handler}:stride")));
    }

    [Fact]
    public async Task Passes_near_two_to_the_52_are_lowered_without_changing_the_order()
    {
        // A handler that has served ~6,000 weight-1 turns: its virtual time just below the rebase mark.
        var start = (1L << 52) - (2 * FairOrder<string>.Scale);
        await _redis.Db.HashSetAsync(Key($"fair:{Handler}"), "v5", start); // level 5: the jobs below are at the default priority
        var queue = NewQueue("executor");
        var order = new FairOrder<string>();
        for (var i = 0; i < 12; i++)
        {
            foreach (var (user, weight) in new[] { ("alice", 1), ("bob", 3) })
            {
                var id = $"{user[0]}{i}";
                await queue.EnqueueAsync(Job(id, user, weight: weight));
                order.Enqueue(id, user, Priorities.Default, weight, 0);
            }
        }
        await queue.FlushAsync();

        var firstHalf = await Drain(queue, 12);
        var virtualTime = (long)await _redis.Db.HashGetAsync(Key($"fair:{Handler}"), "v5");
        Assert.InRange(virtualTime, 0, start - 1);
        var expected = Drain(order);
        Assert.Equal(expected.Take(12), firstHalf);
        Assert.Equal(expected.Skip(12), await Drain(queue, 12));
    }

    [Fact]
    public async Task Fairness_off_writes_straight_to_the_stream_and_drains_flows_a_fair_process_left()
    {
        var fair = NewQueue("fair-executor");
        for (var i = 0; i < 5; i++)
        {
            await fair.EnqueueAsync(Job($"f{i}", "alice"));
        }
        await fair.FlushAsync();
        var unfair = NewQueue("plain-executor", o => o.Fair = false);
        for (var i = 0; i < 5; i++)
        {
            await unfair.EnqueueAsync(Job($"u{i}", "bob"));
        }
        await unfair.FlushAsync();
        Assert.Equal(5, await _redis.Db.StreamLengthAsync(Key($"jobs:{Handler}")));
        Assert.Equal(10, await unfair.DepthAsync());

        var drained = await Drain(unfair, 10);
        Assert.Equal(10, drained.Distinct().Count());
        Assert.Equal(0, await _redis.Db.HashLengthAsync(Key("held")));
    }

    [Fact]
    public async Task An_entry_an_older_build_wrote_straight_to_the_stream_is_still_read()
    {
        await _redis.Db.StreamAddAsync(Key($"jobs:{Handler}"), RedisQueueKeys.Field, "req_old:1");
        await _redis.Db.HashIncrementAsync(Key("held"), "req_old:1");
        await _redis.Db.SetAddAsync(Key("handlers"), Handler);
        var queue = NewQueue("executor");

        Assert.Equal(1, await queue.DepthAsync());
        Assert.Equal(["req_old"], await Drain(queue, 1));
        Assert.Equal(0, await _redis.Db.HashLengthAsync(Key("held")));
    }
}
