using System.Text.Json.Nodes;
using Switchboard.Handlers;

namespace Switchboard.Tests.Handlers;

/// <summary>The contract's typed reads take params parsed from JSON and params built in code (a plugin's unit test) alike.</summary>
public sealed class ParamsExtensionsTests
{
    public static TheoryData<string> Sources => ["parsed", "built"];

    private static JsonObject Params(string source) => source == "parsed"
        ? JsonNode.Parse("""{"n": 3, "big": 4.0, "x": 0.5, "s": "a", "bad": "3"}""")!.AsObject()
        : new JsonObject { ["n"] = 3, ["big"] = 4.0m, ["x"] = 0.5f, ["s"] = "a", ["bad"] = "3" };

    [Theory]
    [MemberData(nameof(Sources))]
    public void NumbersReadTheSameWhereverTheyCameFrom(string source)
    {
        var p = Params(source);

        Assert.Equal(3, p.GetLong("n"));
        Assert.Equal(4, p.GetLong("big"));
        Assert.Equal(0.5, p.GetDouble("x"));
        Assert.Equal(3.0, p.GetDouble("n"));
        Assert.Null(p.GetLong("absent"));
        Assert.Equal("a", p.GetString("s"));
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public void AWrongTypeIsAPermanentFailureThatNamesTheParam(string source)
    {
        var p = Params(source);

        var notWhole = Assert.Throws<HandlerException>(() => p.GetLong("x"));
        var notNumber = Assert.Throws<HandlerException>(() => p.GetDouble("bad"));

        Assert.Equal(("invalid_params", false), (notWhole.Code, notWhole.Transient));
        Assert.Contains("params.x", notWhole.Message);
        Assert.Contains("params.bad", notNumber.Message);
    }
}
