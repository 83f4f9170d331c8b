using Switchboard.Execution.Endpoints;
using Switchboard.Handlers;

namespace Switchboard.Tests.Endpoints;

/// <summary>The weighted rotation and the offer params' reading, alone (the executor's use of them: <see cref="EndpointFallbackTests"/>).</summary>
public sealed class EndpointPolicyTests
{
    [Fact]
    public void WeightsThreeToOneHoldExactlyInEveryCycleOverAThousandPicks()
    {
        var rotation = new SmoothWeightedRoundRobin([3, 1]);
        var picks = Enumerable.Range(0, 1000).Select(_ => rotation.Next(_ => true)).ToList();

        for (var cycle = 0; cycle < 250; cycle++)
        {
            var window = picks.Skip(cycle * 4).Take(4).ToList();
            Assert.Equal(3, window.Count(p => p == 0));
            Assert.Equal(1, window.Count(p => p == 1));
        }
        // Smooth: at every prefix each endpoint is within one pick of its share.
        var first = 0;
        for (var n = 1; n <= picks.Count; n++)
        {
            first += picks[n - 1] == 0 ? 1 : 0;
            Assert.InRange(first, (3.0 * n / 4) - 1, (3.0 * n / 4) + 1);
        }
        // Smooth, not 0,0,0,1: the light one is not left for the end of the cycle (nginx's order; ties go to the first).
        Assert.Equal([0, 0, 1, 0], picks.Take(4));
    }

    [Fact]
    public void AnEndpointLeftOutSharesItsTurnsWithTheOthersAndComesBackInStep()
    {
        var rotation = new SmoothWeightedRoundRobin([2, 1, 1]);
        // The first is out (its breaker open): the other two alternate.
        var without = Enumerable.Range(0, 8).Select(_ => rotation.Next(i => i != 0)).ToList();
        Assert.Equal(4, without.Count(p => p == 1));
        Assert.Equal(4, without.Count(p => p == 2));
        // Back in: the cycle is 2:1:1 again.
        var with = Enumerable.Range(0, 400).Select(_ => rotation.Next(_ => true)).ToList();
        Assert.Equal(200, with.Count(p => p == 0));
        Assert.Equal(100, with.Count(p => p == 1));
        Assert.Equal(100, with.Count(p => p == 2));
        Assert.Equal(-1, rotation.Next(_ => false));
    }

    [Fact]
    public void AnOffersListAndPolicyAreReadWithWeightsAndTheHandlerSeesOneProfile()
    {
        var parameters = JsonNode.Parse("""{"model": "m", "endpoints": [{"name": "big", "weight": 3}, "small"], "endpoint_policy": "weighted"}""")!.AsObject();

        Assert.Empty(OfferEndpoints.Check(parameters));
        var offer = OfferEndpoints.Of(parameters)!;
        Assert.Equal(EndpointPolicy.Weighted, offer.Policy);
        Assert.Equal([new OfferEndpoint("big", 3), new OfferEndpoint("small", 1)], offer.Endpoints);
        var seen = OfferEndpoints.ForHandler(parameters, "small");
        Assert.Equal("""{"model":"m","endpoint":"small"}""", seen.ToJsonString());
        Assert.Null(OfferEndpoints.Of(JsonNode.Parse("""{"endpoint": "one"}""")!.AsObject()));
        Assert.Equal(EndpointPolicy.Fallback, OfferEndpoints.Of(JsonNode.Parse("""{"endpoints": ["a", "b"]}""")!.AsObject())!.Policy);
    }
}
