namespace Switchboard.Tests.Fairness;

/// <summary>
/// The embedded queue's order, end to end (submit → queue → one worker → store): with the worker
/// held while the backlog is submitted, the jobs then start exactly in the queue's order. Priority
/// goes first, a waiting low level ages up, weights share turns, and with <c>Fair</c> off it is
/// first in first out as before issue 22.
/// </summary>
public sealed class QueueOrderTests
{
    [Fact]
    public async Task AHigherPriorityRequestStartsBeforeTheBacklogAndALowerOneAfterIt()
    {
        await using var queue = await HeldQueue.StartAsync();
        var alice = await queue.UserAsync("alice");
        var bob = await queue.UserAsync("bob", maxPriority: 9);
        await queue.HoldAsync();

        var backlog = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            backlog.Add(await HeldQueue.SubmitAsync(alice, i));
        }
        var low = await HeldQueue.SubmitAsync(alice, 100, priority: 2);
        var high = await HeldQueue.SubmitAsync(bob, 200, priority: 9);
        await queue.ReleaseAsync();

        var order = await queue.StartOrderAsync(12);
        Assert.Equal([high, .. backlog, low], order);
        Assert.Equal(9, (await SwitchboardFactory.Get(bob.Client, high))["priority"]!.GetValue<int>());
        Assert.Equal(2, (await SwitchboardFactory.Get(alice.Client, low))["priority"]!.GetValue<int>());
    }

    [Fact]
    public async Task AWaitingLowLevelAgesUpAndRunsBeforeAHighBacklogIsDone()
    {
        // Level 0 counts as 9 after 9 steps of 100 ms; then it ties with level 9 and goes first,
        // having waited longer (since its job came, level 9 since its first job came).
        await using var queue = await HeldQueue.StartAsync(new() { ["Switchboard:PriorityAgeStep"] = "00:00:00.100" });
        var alice = await queue.UserAsync("alice", maxPriority: 9);
        var bob = await queue.UserAsync("bob");
        await queue.HoldAsync();
        var low = await HeldQueue.SubmitAsync(bob, 0, priority: 0);
        var high = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            high.Add(await HeldQueue.SubmitAsync(alice, i, priority: 9));
        }
        // Held long enough for level 0 to have aged to the top: it goes first.
        await Task.Delay(TimeSpan.FromSeconds(1)); // not a wait: time that must pass for aging
        await queue.ReleaseAsync();

        var order = await queue.StartOrderAsync(41);
        // Aged to the top it goes first, or within the first few: the tie with level 9 is broken by
        // how long each level waited, which a copy put back at its flow's head can make even. Without
        // aging it runs last (the next test), so within the first five is aging, not luck.
        Assert.True(order.IndexOf(low) < 5, $"low {low} started as number {order.IndexOf(low)}; first: {queue.Describe(order.Take(3))}");
    }

    [Fact]
    public async Task WithoutAgingTheLowLevelRunsLast()
    {
        // The same as above with the default step (30 s): the test above can fail.
        await using var queue = await HeldQueue.StartAsync();
        var alice = await queue.UserAsync("alice", maxPriority: 9);
        var bob = await queue.UserAsync("bob");
        await queue.HoldAsync();
        var low = await HeldQueue.SubmitAsync(bob, 0, priority: 0);
        for (var i = 0; i < 40; i++)
        {
            await HeldQueue.SubmitAsync(alice, i, priority: 9);
        }
        await Task.Delay(TimeSpan.FromSeconds(1)); // not a wait: the same time as above, not enough to age at 30 s a step
        await queue.ReleaseAsync();

        var order = await queue.StartOrderAsync(41);
        Assert.Equal(low, order[^1]);
    }

    [Fact]
    public async Task WeightsOneAndThreeGetTurnsOneToThree()
    {
        await using var queue = await HeldQueue.StartAsync();
        var light = await queue.UserAsync("light", weight: 1);
        var heavy = await queue.UserAsync("heavy", weight: 3);
        await queue.HoldAsync();
        var owner = new Dictionary<string, char>();
        for (var i = 0; i < 20; i++)
        {
            owner[await HeldQueue.SubmitAsync(light, i)] = 'l';
        }
        for (var i = 0; i < 60; i++)
        {
            owner[await HeldQueue.SubmitAsync(heavy, i)] = 'h';
        }
        await queue.ReleaseAsync();

        var order = (await queue.StartOrderAsync(80)).Select(id => owner[id]).ToList();
        // Every round of four turns: three of heavy's, one of light's (exact: stride scheduling).
        Assert.All(order.Chunk(4), round => Assert.Equal(3, round.Count(o => o == 'h')));
    }

    [Fact]
    public async Task WithFairOffTheQueueIsFirstInFirstOut()
    {
        await using var queue = await HeldQueue.StartAsync(new() { ["Switchboard:Fair"] = "false" });
        var alice = await queue.UserAsync("alice");
        var bob = await queue.UserAsync("bob", weight: 5, maxPriority: 9);
        await queue.HoldAsync();
        var submitted = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            submitted.Add(await HeldQueue.SubmitAsync(alice, i));
        }
        submitted.Add(await HeldQueue.SubmitAsync(bob, 0, priority: 9));
        submitted.Add(await HeldQueue.SubmitAsync(alice, 10));
        await queue.ReleaseAsync();

        Assert.Equal(submitted, await queue.StartOrderAsync(12));
    }
}
