using Switchboard.Fairness;

namespace Switchboard.Tests.Fairness;

/// <summary>Levels keep their own virtual time: turns served at one priority never push a newcomer of another behind a backlog.</summary>
public sealed class FairOrderLevelsTests
{
    [Fact]
    public void Turns_served_at_a_higher_level_do_not_put_a_lower_levels_newcomer_behind_its_backlog()
    {
        var order = new FairOrder<string>(ageStep: TimeSpan.FromDays(1));
        for (var i = 0; i < 10; i++)
        {
            order.Enqueue($"a{i}", "alice", 3, 1, 0);
        }
        for (var i = 0; i < 100; i++)
        {
            order.Enqueue($"b{i}", "bob", 8, 1, 0);
        }
        for (var i = 0; i < 100; i++)
        {
            Assert.True(order.TryDequeue(0, out var served) && served.StartsWith('b'));
        }

        // Carol's first job at level 3 waits one turn (alice's, the lower user at the same pass), not ten.
        order.Enqueue("c0", "carol", 3, 1, 0);
        Assert.Equal(1, order.PositionOf("c0", 0));
        Assert.True(order.TryDequeue(0, out var next) && next == "a0");
        Assert.True(order.TryDequeue(0, out next) && next == "c0");
    }
}
