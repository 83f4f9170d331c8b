using Switchboard.Fairness;

namespace Switchboard.Tests.Fairness;

/// <summary>The order itself (Fairness/FairOrder.cs), without a queue around it: the rule the in-process and Redis queues and lanes share.</summary>
public sealed class FairOrderTests
{
    private static List<string> Drain(FairOrder<string> order, long nowMs = 0)
    {
        var taken = new List<string>();
        while (order.TryDequeue(nowMs, out var item))
        {
            taken.Add(item);
        }
        return taken;
    }

    [Fact]
    public void A_newcomer_waits_at_most_one_turn_behind_a_backlog()
    {
        var order = new FairOrder<string>();
        for (var i = 0; i < 5000; i++)
        {
            order.Enqueue($"a{i}", "alice", Priorities.Default, 1, 0);
        }
        order.TryDequeue(0, out _);
        order.TryDequeue(0, out _);
        // Alice has had two turns; Bob starts at the round's virtual time and goes next.
        order.Enqueue("b0", "bob", Priorities.Default, 1, 0);
        Assert.Equal(0, order.PositionOf("b0", 0));
        Assert.Equal(1, order.PositionOf("a2", 0));
        Assert.True(order.TryDequeue(0, out var next) && next == "b0");
        Assert.True(order.TryDequeue(0, out next) && next == "a2");
        Assert.Equal(4997, order.Count);
    }

    [Fact]
    public void Weights_give_turns_in_proportion_and_positions_match_the_drain()
    {
        var order = new FairOrder<string>();
        for (var i = 0; i < 30; i++)
        {
            order.Enqueue($"a{i}", "alice", 5, 2, 0);
            order.Enqueue($"b{i}", "bob", 5, 1, 0);
            order.Enqueue($"c{i}", "carol", 5, 3, 0);
        }
        var positions = Enumerable.Range(0, 30).SelectMany(i => new[] { $"a{i}", $"b{i}", $"c{i}" })
            .ToDictionary(x => x, x => order.PositionOf(x, 0));
        var drained = Drain(order);
        for (var i = 0; i < drained.Count; i++)
        {
            Assert.Equal(i, positions[drained[i]]);
        }
        // In the first 60 turns: carol 30, alice 20, bob 10 (3 : 2 : 1), each exact per cycle of six.
        var first = drained.Take(60).GroupBy(x => x[0]).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(30, first['c']);
        Assert.Equal(20, first['a']);
        Assert.Equal(10, first['b']);
        Assert.All(drained.Chunk(6).Take(10), cycle => Assert.Equal(3, cycle.Count(x => x[0] == 'c')));
    }

    [Fact]
    public void A_higher_priority_goes_first_and_a_waiting_level_ages_up()
    {
        var order = new FairOrder<string>(ageStep: TimeSpan.FromSeconds(10));
        order.Enqueue("low", "alice", 3, 1, 0);
        order.Enqueue("high1", "bob", 8, 1, 0);
        order.Enqueue("high2", "bob", 8, 1, 0);
        order.Enqueue("high3", "bob", 8, 1, 0);
        Assert.True(order.TryDequeue(0, out var next) && next == "high1");
        // 50 s: level 3 has aged to 8, level 8 (last served at 0) to 9.
        Assert.True(order.TryDequeue(50_000, out next) && next == "high2");
        // 60 s: both at 9; level 3 waited longer (since 0, level 8 since 50 s).
        Assert.True(order.TryDequeue(60_000, out next) && next == "low");
        Assert.Equal(["high3"], Drain(order, 60_000));
    }

    [Fact]
    public void Emptying_and_refilling_gains_no_turn()
    {
        var order = new FairOrder<string>();
        for (var i = 0; i < 10; i++)
        {
            order.Enqueue($"a{i}", "alice", 5, 1, 0);
        }
        var taken = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            // Bob always has exactly one job waiting: he gets every other turn, not every turn.
            order.Enqueue($"b{i}", "bob", 5, 1, 0);
            order.TryDequeue(0, out var x);
            taken.Add(x);
            if (x.StartsWith('a'))
            {
                order.TryDequeue(0, out x);
                taken.Add(x);
            }
        }
        Assert.Equal(taken.Count(x => x[0] == 'a'), taken.Count(x => x[0] == 'b'), 1.0);
    }

    [Fact]
    public void Remove_and_return_to_the_head_keep_the_rest_in_order()
    {
        var order = new FairOrder<string>();
        order.Enqueue("a0", "alice", 5, 1, 0);
        order.Enqueue("a1", "alice", 5, 1, 0);
        order.Enqueue("a2", "alice", 5, 1, 0);
        Assert.True(order.Remove("a1"));
        Assert.False(order.Remove("a1"));
        Assert.True(order.TryDequeue(0, out var x) && x == "a0");
        Assert.True(order.EnqueueFirst("a0", "alice", 5, 1, 0));
        Assert.False(order.Enqueue("a0", "alice", 5, 1, 0));
        Assert.Equal(["a0", "a2"], Drain(order));
    }

    /// <summary>
    /// PositionOf counts a job's place in its flow without walking it (its seq less the holes
    /// cancellations left): checked against the order the drain then takes, after thousands of
    /// random adds at either end, takes and removals from anywhere.
    /// </summary>
    [Fact]
    public void Positions_stay_exact_through_adds_at_both_ends_takes_and_removals()
    {
        var random = new Random(23);
        var order = new FairOrder<string>();
        var live = new List<string>();
        var next = 0;
        for (var step = 0; step < 5000; step++)
        {
            var user = random.Next(3) switch { 0 => "alice", 1 => "bob", _ => "cat" };
            switch (random.Next(6))
            {
                case 0 or 1 or 2:
                    var added = $"{user}{next++}";
                    Assert.True(random.Next(4) == 0 ? order.EnqueueFirst(added, user, 5, 1 + (user.Length % 2), 0) : order.Enqueue(added, user, 5, 1 + (user.Length % 2), 0));
                    live.Add(added);
                    break;
                case 3:
                    if (order.TryDequeue(0, out var taken))
                    {
                        live.Remove(taken);
                    }
                    break;
                default:
                    if (live.Count > 0)
                    {
                        var removed = live[random.Next(live.Count)];
                        Assert.True(order.Remove(removed));
                        live.Remove(removed);
                    }
                    break;
            }
        }
        Assert.Equal(live.Count, order.Count);
        var positions = live.ToDictionary(item => item, item => order.PositionOf(item, 0)!.Value);
        var drained = Drain(order);
        Assert.All(drained.Select((item, index) => (item, index)), p => Assert.Equal(p.index, positions[p.item]));
    }

    [Fact]
    public void Unfair_is_first_in_first_out()
    {
        var order = new FairOrder<string>(fair: false);
        order.Enqueue("a0", "alice", 1, 1, 0);
        order.Enqueue("a1", "alice", 1, 1, 0);
        order.Enqueue("b0", "bob", 9, 5, 0);
        Assert.Equal(2, order.PositionOf("b0", 0));
        Assert.Equal(["a0", "a1", "b0"], Drain(order));
    }
}
