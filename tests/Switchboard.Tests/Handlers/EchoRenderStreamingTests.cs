using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Handlers;

namespace Switchboard.Tests.Handlers;

/// <summary>
/// echo.render's params for the event stream's tests and benchmark: <c>progress_steps</c> reports
/// progress N times and <c>stream_text</c> streams its words through the host, then returns the
/// whole text; wrong types are refused when the catalog is applied.
/// </summary>
public sealed class EchoRenderStreamingTests
{
    private sealed class RecordingHost : IHandlerHost
    {
        public List<(double Fraction, string? Message)> Progress { get; } = [];

        public List<string> Partials { get; } = [];

        public Task<BinaryResult> ReadBinaryAsync(string requestId, string sha256, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public void ReportProgress(string requestId, double fraction, string? message) => Progress.Add((fraction, message));

        public void ReportPartial(string requestId, string text) => Partials.Add(text);
    }

    [Fact]
    public async Task ProgressStepsAndStreamTextAreReportedThroughTheHostAndTheResultIsTheWholeText()
    {
        var host = new RecordingHost();
        var parameters = new JsonObject { ["delay_ms"] = 40, ["progress_steps"] = 4, ["progress_message"] = "drawing", ["stream_text"] = "one two  three" };
        var context = new HandlerContext(new string('a', 32), 1, "ignored", parameters, 1, NullLogger.Instance, host: host);

        await new EchoRenderHandler().ExecuteAsync(context, CancellationToken.None);

        Assert.Equal([(0.25, "drawing 1/4"), (0.5, "drawing 2/4"), (0.75, "drawing 3/4"), (1.0, "drawing 4/4")], host.Progress);
        Assert.Equal(["one ", "two  ", "three"], host.Partials);
        Assert.Equal("one two  three #1", Assert.Single(context.Results)!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"progress_steps": "three"}""", "progress_steps")]
    [InlineData("""{"progress_steps": 20000}""", "progress_steps")]
    [InlineData("""{"progress_steps": 1.5}""", "progress_steps")]
    [InlineData("""{"progress_message": ["a"]}""", "progress_message")]
    [InlineData("""{"stream_text": 5}""", "stream_text")]
    public void WrongTypesAreRefused(string json, string key)
    {
        var parameters = JsonNode.Parse(json)!.AsObject();
        var problems = new EchoRenderHandler().CheckParams(parameters).ToList();
        Assert.Contains(problems, p => p.Key == key);
    }
}
