namespace Switchboard.Execution.Endpoints;

/// <summary>
/// nginx's smooth weighted round-robin over a fixed list: each pick adds every candidate's
/// weight to its score, takes the highest (ties: the first), and takes the total of the
/// candidates' weights off the winner. Over any prefix of picks an endpoint of weight w out of
/// W has been picked within one of n·w/W times, and exactly w times in each full cycle of W
/// picks. Candidates excluded for a pick (an open breaker) neither gain nor lose: the others
/// share its turns. Not thread-safe: callers lock.
/// </summary>
public sealed class SmoothWeightedRoundRobin(IReadOnlyList<int> weights)
{
    private readonly long[] _current = new long[weights.Count];

    /// <summary>The index picked among those <paramref name="available"/> allows; -1 when none is.</summary>
    public int Next(Func<int, bool> available)
    {
        var best = -1;
        long total = 0;
        for (var i = 0; i < _current.Length; i++)
        {
            if (!available(i))
            {
                continue;
            }
            _current[i] += weights[i];
            total += weights[i];
            if (best < 0 || _current[i] > _current[best])
            {
                best = i;
            }
        }
        if (best >= 0)
        {
            _current[best] -= total;
        }
        return best;
    }
}
