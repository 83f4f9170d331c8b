using System.CommandLine;

namespace Switchboard.Cli.Commands;

/// <summary>Options and arguments several commands share (a new instance each time: each belongs to one command).</summary>
internal static class Shared
{
    public static Option<string?> Actor() => new("--actor")
    {
        Description = "Who is recorded as having done it (default: the OS user)",
        HelpName = "A",
    };

    public static Option<string?> Author() => new("--author")
    {
        Description = "Who is recorded as the version's author (default: the OS user)",
        HelpName = "A",
    };

    public static Argument<string> UserName() => new("name") { Description = "The user's name" };

    public static Option<string?> Version(string description) => new("--version") { Description = description, HelpName = "V" };

    /// <summary>
    /// An option that may be given more than once, the last one counting, as the .NET
    /// configuration provider always read the server's words (and scripts append a --data or
    /// --urls to a list of defaults).
    /// </summary>
    public static Option<string> LastWins(string name, string helpName, string description, string? defaultValue = null)
    {
        var option = new Option<string>(name)
        {
            Description = description,
            HelpName = helpName,
            Arity = ArgumentArity.OneOrMore,
            CustomParser = result => result.Tokens.Count > 0 ? result.Tokens[^1].Value : defaultValue!,
        };
        if (defaultValue is not null)
        {
            option.DefaultValueFactory = _ => defaultValue;
        }
        return option;
    }

    public static Option<string> Config() =>
        LastWins("--config", "FILE", "The bootstrap config (store and queue). Without it, the embedded store in --data");

    public static Option<string> Data() => LastWins("--data", "DIR", "The embedded store's folder (used without --config)", "./data");
}
