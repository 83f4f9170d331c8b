using Switchboard.Handlers.HttpJson;

namespace Switchboard.Tests.Handlers;

/// <summary>The parts of <c>http.json</c> that need no server: its JSON Pointers (RFC 6901) and its body template.</summary>
public sealed class HttpJsonPartsTests
{
    private static readonly JsonNode Answer = JsonNode.Parse("""
        {"a/b": 1, "m~n": 2, "": 3, "list": [10, {"x": null}], "01": "key", "nested": {"items": [{"text": "t"}]}}
        """)!;

    [Theory]
    [InlineData("", """{"a/b":1,"m~n":2,"":3,"list":[10,{"x":null}],"01":"key","nested":{"items":[{"text":"t"}]}}""")]
    [InlineData("/a~1b", "1")]
    [InlineData("/m~0n", "2")]
    [InlineData("/", "3")]
    [InlineData("/list/0", "10")]
    [InlineData("/01", "\"key\"")]
    [InlineData("/nested/items/0/text", "\"t\"")]
    public void APointerFindsWhatRfc6901Says(string pointer, string expected)
    {
        Assert.True(JsonPointer.TryParse(pointer, out var parsed));
        Assert.True(parsed.TryEvaluate(Answer, out var found));
        Assert.Equal(expected, found!.ToJsonString());
    }

    [Theory]
    [InlineData("/list/01")]   // a leading zero is no index
    [InlineData("/list/-")]    // past the end
    [InlineData("/list/2")]
    [InlineData("/list/0/x")]  // a number has no members
    [InlineData("/missing")]
    [InlineData("/a/b")]       // "/" inside a name must be ~1
    public void APointerThatNamesNothingFindsNothing(string pointer)
    {
        Assert.True(JsonPointer.TryParse(pointer, out var parsed));
        Assert.False(parsed.TryEvaluate(Answer, out _));
    }

    [Fact]
    public void AJsonNullIsFoundAsNull()
    {
        Assert.True(JsonPointer.TryParse("/list/1/x", out var parsed));
        Assert.True(parsed.TryEvaluate(Answer, out var found));
        Assert.Null(found);
    }

    [Theory]
    [InlineData("list/0")]
    [InlineData("#/list")]
    [InlineData("/m~2n")]
    [InlineData("/m~")]
    public void ATextThatIsNotAPointerIsRefused(string text) => Assert.False(JsonPointer.TryParse(text, out _));

    [Fact]
    public void TheTemplateSubstitutesJsonValuesAndNeverRescansAnInput()
    {
        var template = JsonNode.Parse("""
            {"{prompt}": "{prompt}", "n": "{quantity}", "s": "{quantity} of {prompt}", "in": "{input}", "keep": "{\"a\": 1}", "deep": [["{prompt}"]], "num": 7}
            """)!;
        var prompt = "a {quantity} \"b\" {prompt}";

        var body = BodyTemplate.Render(template, prompt, 4, [JsonValue.Create("prev")!, new JsonObject { ["type"] = "binary" }]);

        // Keys are not substituted; a prompt's own "{quantity}" and "{prompt}" stay as written.
        Assert.Equal(prompt, body["{prompt}"]!.GetValue<string>());
        Assert.Equal(4, body["n"]!.GetValue<int>());
        Assert.Equal($"4 of {prompt}", body["s"]!.GetValue<string>());
        Assert.Equal("""["prev",{"type":"binary"}]""", body["in"]!.ToJsonString());
        Assert.Equal("{\"a\": 1}", body["keep"]!.GetValue<string>());
        Assert.Equal(prompt, body["deep"]![0]![0]!.GetValue<string>());
        Assert.Equal(7, body["num"]!.GetValue<int>());
        // The template itself is left as it was (it is the offer's, shared by every job).
        Assert.Equal("{prompt}", template["{prompt}"]!.GetValue<string>());
    }

    [Fact]
    public void ParamsWithoutBodyOrResultsAreRefusedNamingThem()
    {
        var problems = new List<(string Key, string Problem)>();

        Assert.Null(HttpJsonParams.Read(new JsonObject { ["results_base64"] = true, ["endpoint"] = "Not A Name" }, problems));

        Assert.Contains(problems, p => p.Key == "body" && p.Problem.StartsWith("is required"));
        Assert.Contains(problems, p => p.Key == "results" && p.Problem.StartsWith("is required"));
        Assert.Contains(problems, p => p.Key == "media_type" && p.Problem.StartsWith("is required with results_base64"));
        Assert.Contains(problems, p => p.Key == "endpoint");
        var failure = Assert.Throws<Switchboard.Handlers.HandlerException>(() => HttpJsonParams.ForJob(new JsonObject { ["body"] = "{prompt}" }));
        Assert.Equal("invalid_params", failure.Code);
        Assert.False(failure.Transient);
        Assert.StartsWith("params.results: is required", failure.Message);
    }
}
