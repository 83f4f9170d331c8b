using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using SampleHandlers;
using Switchboard.Handlers;

namespace SampleHandlers.Tests;

/// <summary>The plugin's handlers on a context as the host makes it, with a host that records progress.</summary>
public sealed class SampleHandlerTests
{
    private sealed class RecordingHost : IHandlerHost
    {
        public List<(double Fraction, string? Message)> Progress { get; } = [];

        public Task<BinaryResult> ReadBinaryAsync(string requestId, string sha256, CancellationToken cancellationToken) =>
            throw new NotSupportedException("the sample handlers read no binary input");

        public void ReportProgress(string requestId, double fraction, string? message) => Progress.Add((fraction, message));

        public void ReportPartial(string requestId, string text)
        {
        }
    }

    // Params as the host hands them over: parsed from the stored catalog's JSON.
    private static JsonObject Params(string json) => JsonNode.Parse(json)!.AsObject();

    private static HandlerContext Context(string prompt, JsonObject? parameters = null, int quantity = 1, IHandlerHost? host = null) =>
        new(new string('a', 32), 1, prompt, parameters ?? [], quantity, NullLogger.Instance, host: host);

    [Fact]
    public async Task WordCountCountsWordsAndRecordsThemAsUsage()
    {
        var context = Context("The owl, the OWL and the night's owl.");

        await new WordCountHandler().ExecuteAsync(context, CancellationToken.None);

        var result = Assert.IsType<JsonObject>(Assert.Single(context.Results));
        Assert.Equal(8, result["words"]!.GetValue<int>());
        Assert.Equal(4, result["distinct"]!.GetValue<int>()); // the, owl, and, night's
        Assert.Equal("night's", result["longest"]!.GetValue<string>());
        Assert.Equal(8, context.Usage["words"]!.GetValue<long>());
    }

    [Fact]
    public async Task WordCountSkipsWordsShorterThanMinLength()
    {
        var context = Context("a bb ccc dddd", Params("""{"min_length": 3}"""));

        await new WordCountHandler().ExecuteAsync(context, CancellationToken.None);

        Assert.Equal(2, context.Results[0]["words"]!.GetValue<int>());
    }

    [Fact]
    public async Task WordCountReportsProgressOncePerResult()
    {
        var host = new RecordingHost();
        var context = Context("one two", quantity: 4, host: host);

        await new WordCountHandler().ExecuteAsync(context, CancellationToken.None);

        Assert.Equal(4, context.Results.Count);
        Assert.Equal([0.25, 0.5, 0.75, 1.0], host.Progress.Select(p => p.Fraction));
        Assert.Equal("4 of 4 counted", host.Progress[^1].Message);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("101")]
    [InlineData("\"3\"")]
    [InlineData("2.5")]
    public void WordCountRefusesABadMinLengthByName(string json)
    {
        var problems = new WordCountHandler().CheckParams(Params($$"""{"min_length": {{json}}}""")).ToList();

        Assert.Equal("min_length", Assert.Single(problems).Key);
    }

    [Fact]
    public void WordCountAcceptsNoParamsAndAGoodMinLength()
    {
        Assert.Empty(new WordCountHandler().CheckParams([]));
        Assert.Empty(new WordCountHandler().CheckParams(Params("""{"min_length": 3}""")));
    }

    [Fact]
    public async Task WordCountFailsNamedOnAMinLengthOfTheWrongType()
    {
        var context = Context("x", Params("""{"min_length": "long"}"""));

        var failure = await Assert.ThrowsAsync<HandlerException>(() => new WordCountHandler().ExecuteAsync(context, CancellationToken.None));

        Assert.Equal("invalid_params", failure.Code);
        Assert.Contains("min_length", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReverseKeepsTextElementsWhole()
    {
        var context = Context("née 👍🏽!", quantity: 2);

        await new ReverseHandler().ExecuteAsync(context, CancellationToken.None);

        Assert.Equal(["!👍🏽 eén", "!👍🏽 eén"], context.Results.Select(r => r!.GetValue<string>()));
        Assert.Equal(6, context.Usage["characters"]!.GetValue<long>());
    }

    [Fact]
    public async Task ReverseFailsPermanentlyOnTheRefusedText()
    {
        var context = Context("say secret", Params("""{"fail_on": "secret"}"""));

        var failure = await Assert.ThrowsAsync<HandlerException>(() => new ReverseHandler().ExecuteAsync(context, CancellationToken.None));

        Assert.Equal("reverse_refused", failure.Code);
        Assert.False(failure.Transient);
        Assert.Empty(context.Results);
    }
}
