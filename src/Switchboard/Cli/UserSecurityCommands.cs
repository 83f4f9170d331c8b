using System.Text;
using Switchboard.Storage;
using Switchboard.Users;

namespace Switchboard.Cli;

/// <summary>
/// <c>users password|grant-admin|remove-admin|disable|enable NAME</c>: a user's security state,
/// with <see cref="UserSecurity"/>'s rules (the admin API's). A password is never taken from the
/// command line, where <c>ps</c> and shell history would keep it: it is typed at a prompt without
/// echo when stdin is a terminal, or read as one line from stdin with <c>--password-stdin</c>.
/// </summary>
public static class UserSecurityCommands
{
    public const string Usage = """
          users password NAME [--password-stdin]           prompts (no echo) on a terminal; --password-stdin reads one line
          users grant-admin NAME | users remove-admin NAME
          users disable NAME | users enable NAME           a disabled user's keys and panel sessions stop at once
        """;

    private static readonly HashSet<string> Subcommands = ["password", "grant-admin", "remove-admin", "disable", "enable"];

    public static bool Handles(Args args) => args.Positional.Count > 1 && Subcommands.Contains(args.Positional[1]);

    /// <param name="input">stdin: the console's, or a test's reader (never a terminal then).</param>
    public static int Run(Args args, Store store, TextReader? input, TextWriter output, TextWriter error)
    {
        var sub = args.Positional[1];
        var name = args.Word(2, "user name");
        try
        {
            var user = sub switch
            {
                "password" => SetPassword(args, store, name, input, error),
                "grant-admin" or "remove-admin" => store.Write(c => UserSecurity.SetAdmin(c, name, sub == "grant-admin")),
                _ => store.Write(c => UserSecurity.SetDisabled(c, name, sub == "disable")),
            };
            using var connection = store.Open();
            output.WriteLine(UserSecurity.ToJson(connection, user).ToJsonString());
            return 0;
        }
        catch (UserSecurityException ex)
        {
            error.WriteLine($"switchboard: {ex.Message} (nothing changed)");
            return 1;
        }
    }

    private static UserInfo SetPassword(Args args, Store store, string name, TextReader? input, TextWriter error)
    {
        if (args.Has("password"))
        {
            throw new UsageException("users password takes no password on the command line (ps and shell history keep it): type it at the prompt or use --password-stdin");
        }
        string? password;
        if (args.Has("password-stdin"))
        {
            password = (input ?? Console.In).ReadLine();
        }
        else if (input is null && !Console.IsInputRedirected)
        {
            password = Prompt("New password: ", error);
            if (password is not null && Prompt("Again: ", error) != password)
            {
                throw new UsageException("the two passwords differ");
            }
        }
        else
        {
            throw new UsageException("stdin is not a terminal: give --password-stdin to read the password from it");
        }
        if (string.IsNullOrEmpty(password))
        {
            throw new UsageException("no password given");
        }
        return store.Write(c => UserSecurity.SetPassword(c, name, password));
    }

    /// <summary>Reads a line from the terminal without echoing it; null on end of input.</summary>
    private static string? Prompt(string prompt, TextWriter error)
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
