using System.CommandLine;

namespace Switchboard.Cli.Commands;

/// <summary>Options and arguments several commands share (a new instance each: a symbol belongs to one parse tree).</summary>
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
}
