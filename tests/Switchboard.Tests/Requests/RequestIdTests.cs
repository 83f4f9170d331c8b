using System.Text.Json;
using Switchboard.Requests;

namespace Switchboard.Tests.Requests;

/// <summary>
/// The request id is the idempotency of every submit, across versions: a resubmitted request
/// must find the row an older build wrote. These ids were computed apart from the code
/// (Python's hashlib over the documented encoding); any change to the bytes hashed changes them.
/// </summary>
public sealed class RequestIdTests
{
    private static RequestInputs Inputs(string json, params string[] variables)
    {
        var errors = new Dictionary<string, string>();
        using var body = JsonDocument.Parse(json);
        return RequestInputs.Validate(body.RootElement, variables, 100_000, errors) ?? throw new InvalidOperationException(string.Join(", ", errors));
    }

    [Fact]
    public void TheIdOfAnOfferRequestIsStableAcrossBuilds()
    {
        var inputs = Inputs("""{"text": "héllo", "n": 3}""", "text", "n");

        Assert.Equal("7b116bf02189bb2d5c655267632d80e2", inputs.RequestId("u1", "offer", "text/shout", null));
        Assert.Equal("d9f378741ba26709c76c11d547a0a215", inputs.RequestId("u1", "offer", "text/shout", "key-1"));
        Assert.Equal("6298737560e954e0961bcaa7c864223f", Inputs("{}").RequestId("u2", "deal", "bundle", null, ["b", "a"]));
    }

    [Fact]
    public void EachPartCountsAndAddOnsAreASet()
    {
        var inputs = Inputs("""{"text": "x"}""", "text");

        Assert.NotEqual(inputs.RequestId("u1", "offer", "a/b", null), inputs.RequestId("u1", "offer", "a/b", "k"));
        Assert.NotEqual(inputs.RequestId("u1", "offer", "a/b", null), inputs.RequestId("u10", "offer", "a/b", null));
        Assert.Equal(inputs.RequestId("u1", "deal", "d", null, ["x", "y"]), inputs.RequestId("u1", "deal", "d", null, ["y", "x"]));
        Assert.NotEqual(Inputs("""{"text": "1"}""", "text").RequestId("u", "offer", "a/b", null), Inputs("""{"text": 1}""", "text").RequestId("u", "offer", "a/b", null));
    }
}
