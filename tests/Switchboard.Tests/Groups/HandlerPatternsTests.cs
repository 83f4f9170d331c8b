using Switchboard.Queue;

namespace Switchboard.Tests.Groups;

/// <summary>What <c>--handlers</c> accepts, what it matches, and what it refuses at start.</summary>
public sealed class HandlerPatternsTests
{
    [Fact]
    public void ExactIdsAndModuleWildcardsMatchTheirHandlersOnly()
    {
        var patterns = HandlerPatterns.Parse(" openai.* , anthropic.messages,openai.* ");

        Assert.Equal(["openai.*", "anthropic.messages"], patterns.Patterns);
        Assert.True(patterns.Matches("openai.chat"));
        Assert.True(patterns.Matches("openai.image"));
        Assert.True(patterns.Matches("anthropic.messages"));
        Assert.False(patterns.Matches("anthropic.complete"));
        Assert.False(patterns.Matches("openaix.chat"));
        Assert.False(patterns.Matches("echo.render"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void NoPatternsServeEveryHandler(string? text)
    {
        var patterns = HandlerPatterns.Parse(text);

        Assert.True(patterns.IsAll);
        Assert.True(patterns.Matches("echo.render"));
        Assert.True(patterns.Matches("anything.else"));
    }

    [Theory]
    [InlineData("*", "'*' is not a handler id")]
    [InlineData("openai", "'openai' is not a handler id")]
    [InlineData("open*", "'open*' is not a handler id")]
    [InlineData("openai.chat;echo.render", "'openai.chat;echo.render' is not a handler id")]
    [InlineData("OpenAI.chat", "'OpenAI.chat' is not a handler id")]
    [InlineData("openai.*,,echo.render", "has an empty pattern")]
    [InlineData("*.chat", "'*.chat' is not a handler id")]
    public void AMalformedPatternIsRefusedNamingIt(string text, string expected)
    {
        Assert.False(HandlerPatterns.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Contains("--handlers", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AnExecutorServesTheHandlersItHasThatThePatternsMatch()
    {
        var served = ServedHandlers.For("openai.*,echo.render", ["echo.render", "openai.chat", "anthropic.messages"]);

        Assert.Equal(["echo.render", "openai.chat"], served.Ids);
        Assert.Equal(["anthropic.messages", "echo.render", "openai.chat"], ServedHandlers.For(null, ["echo.render", "openai.chat", "anthropic.messages"]).Ids);
    }

    [Fact]
    public void PatternsThatMatchNoneOfTheExecutorsHandlersStopTheStartSayingWhatItHas()
    {
        var error = Assert.Throws<ArgumentException>(() => ServedHandlers.For("stability.*", ["echo.render", "openai.chat"]));

        Assert.Contains("--handlers 'stability.*' matches none of this executor's handlers (echo.render, openai.chat)", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>The command line refuses a malformed <c>--handlers</c> before anything starts.</summary>
public sealed class HandlersOptionTests
{
    [Theory]
    [InlineData("executor")]
    [InlineData("serve")]
    public async Task AMalformedHandlersOptionIsAUsageErrorNamingThePattern(string role)
    {
        var (exit, _, error) = await Infrastructure.Cli.RunArgs(role, "--handlers", "openai.*,open*");

        Assert.Equal(2, exit);
        Assert.Contains("--handlers: 'open*' is not a handler id (module.method, e.g. openai.chat) nor a module pattern (module.*, e.g. openai.*)", error, StringComparison.Ordinal);
    }
}
