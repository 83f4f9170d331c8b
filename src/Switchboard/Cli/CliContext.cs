namespace Switchboard.Cli;

/// <summary>
/// What a command needs besides its parsed values: the streams (the console's, or a test's) and,
/// for the server commands, their arguments as given (the host's configuration reads them).
/// </summary>
/// <param name="Input">stdin; null means the console's, which may be a terminal to prompt on.</param>
public sealed record CliContext(TextWriter Output, TextWriter Error, TextReader? Input, IReadOnlyList<string> ServerArgs)
{
    /// <summary>Whether a person can be prompted: the console's stdin, and it is a terminal.</summary>
    public bool CanPrompt => Input is null && !Console.IsInputRedirected;
}
