namespace Switchboard.Cli;

/// <summary>
/// The .NET configuration overrides the server commands accept beside their own options:
/// <c>--Section:Key=value</c> and <c>--Section:Key value</c> (a key with a colon, as
/// <c>--Switchboard:LeaseSeconds=6</c> or <c>--Logging:LogLevel:Default Debug</c>). They cannot
/// be declared to System.CommandLine (any key is valid), so they are taken out before parsing;
/// the host's command-line configuration provider reads them from the server's arguments, as it
/// always did. Other commands take none: there such a word is an unknown option.
/// </summary>
public static class ConfigOverrides
{
    public static readonly HashSet<string> ServerCommands = ["serve", "api", "executor", "recon"];

    /// <summary>
    /// The words for the parser, and the server command's arguments as given (empty for any
    /// other command).
    /// </summary>
    public static (string[] ParserArgs, string[] ServerArgs) Split(string[] args)
    {
        if (args.Length == 0 || !ServerCommands.Contains(args[0]))
        {
            return (args, []);
        }
        var parserArgs = new List<string> { args[0] };
        for (var i = 1; i < args.Length; i++)
        {
            if (!IsOverride(args[i]))
            {
                parserArgs.Add(args[i]);
            }
            else if (!args[i].Contains('=', StringComparison.Ordinal) && i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                i++; // its value
            }
        }
        return ([.. parserArgs], args[1..]);
    }

    private static bool IsOverride(string word) =>
        word.StartsWith("--", StringComparison.Ordinal) && word.Split('=', 2)[0].IndexOf(':', StringComparison.Ordinal) > 2;
}
