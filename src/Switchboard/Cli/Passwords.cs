using System.Text;

namespace Switchboard.Cli;

/// <summary>
/// Passwords for <c>users create</c> and <c>users password</c>: typed at a prompt without echo
/// when stdin is a terminal, or read as one line from stdin (<c>--password-stdin</c>), so they
/// need not be on the command line, where <c>ps</c> and shell history keep them.
/// </summary>
public static class Passwords
{
    /// <summary>One line of stdin (the console's, or a test's reader); null at end of input.</summary>
    public static string? FromStdin(CliContext context) => (context.Input ?? Console.In).ReadLine();

    /// <summary>Asks twice at the terminal; null when input ends.</summary>
    public static string? Prompt(CliContext context)
    {
        var password = ReadHidden("New password: ", context.Error);
        if (password is not null && ReadHidden("Again: ", context.Error) != password)
        {
            throw new UsageException("the two passwords differ");
        }
        return password;
    }

    /// <summary>Reads a line from the terminal without echoing it; null on end of input.</summary>
    private static string? ReadHidden(string prompt, TextWriter error)
    {
        error.Write(prompt);
        var typed = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    error.WriteLine();
                    return typed.ToString();
                case ConsoleKey.Backspace:
                    if (typed.Length > 0)
                    {
                        typed.Length--;
                    }
                    break;
                default:
                    if (key.KeyChar == '\u0004' && typed.Length == 0)
                    {
                        error.WriteLine();
                        return null;
                    }
                    if (!char.IsControl(key.KeyChar))
                    {
                        typed.Append(key.KeyChar);
                    }
                    break;
            }
        }
    }
}
