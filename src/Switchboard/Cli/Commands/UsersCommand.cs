using System.CommandLine;

namespace Switchboard.Cli.Commands;

/// <summary><c>users …</c>: accounts, their passwords, admin rights and whether they may act.</summary>
public sealed class UsersCommand : Command
{
    public UsersCommand(CliContext context) : base("users", "User accounts: create, rename, list; passwords, admin rights, disabling; forgetting their requests")
    {
        Add(Create(context));
        Add(Rename(context));
        Add(new StoreCommand("list", "Lists every user, one JSON line each", context, (_, s) => ManagementCommands.ListUsers(s.Store, context.Output)) { Recorded = StoreCommand.OnlyReads });
        Add(Password(context));
        Add(OnUser("grant-admin", "Gives a user admin rights", context, (s, name) => UserSecurityCommands.SetAdmin(s, name, true, context)));
        Add(OnUser("remove-admin", "Takes a user's admin rights away (their panel sessions end)", context, (s, name) => UserSecurityCommands.SetAdmin(s, name, false, context)));
        Add(OnUser("disable", "Disables a user: their keys and panel sessions stop at once", context, (s, name) => UserSecurityCommands.SetDisabled(s, name, true, context)));
        Add(OnUser("enable", "Enables a disabled user", context, (s, name) => UserSecurityCommands.SetDisabled(s, name, false, context)));
        Add(ForgetCommand.Create(context));
        Add(Set(context));
    }

    /// <summary><c>users set NAME --plan P --weight N --priority N --max-priority N</c> ('none' clears one).</summary>
    private static StoreCommand Set(CliContext context)
    {
        var name = Shared.UserName();
        var options = PlansCommand.SettingOptions(Users.Plans.UserFields);
        var command = new StoreCommand("set", "Sets a user's plan and scheduling (weight, priority, max priority); 'none' clears one (then the plan's counts)", context, (parse, s) =>
        {
            var changes = PlansCommand.Read(parse, options, Users.Plans.UserFields);
            var user = parse.GetValue(name)!;
            try
            {
                var settings = s.Store.Write(c => Users.Plans.SetUser(c, user, changes) is { } found ? Users.Plans.UserSettings(c, found.Id) : null);
                if (settings is null)
                {
                    context.Error.WriteLine($"no user named '{user}'");
                    return 1;
                }
                settings["name"] = user;
                context.Output.WriteLine(settings.ToJsonString());
                return 0;
            }
            catch (KeyNotFoundException ex)
            {
                context.Error.WriteLine(ex.Message);
                return 1;
            }
        })
        {
            name,
        };
        foreach (var option in options)
        {
            command.Add(option);
        }
        return command;
    }

    private static StoreCommand Create(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "1-64 of A-Z a-z 0-9 . _ @ + -, a letter or digit at each end" };
        var admin = new Option<bool>("--admin") { Description = "An admin (the panel and the admin API). On a terminal, prompts for a panel password unless one is given" };
        var credits = new Option<long>("--credits") { Description = "Starting credits", HelpName = "N" };
        var password = new Option<string?>("--password")
        {
            Description = "The panel password. Visible to other local users (ps) and kept in shell history: prefer the prompt or --password-stdin",
            HelpName = "P",
        };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Reads the panel password as one line from stdin" };
        var actor = Shared.Actor();
        return new StoreCommand("create", "Creates a user and their first API key (printed once, as JSON)", context, (parse, s) =>
        {
            var given = parse.GetValue(password);
            if (parse.GetResult(password) is not null && string.IsNullOrEmpty(given))
            {
                throw new UsageException("--password needs a value");
            }
            if (given is not null && parse.GetValue(passwordStdin))
            {
                throw new UsageException("give --password or --password-stdin, not both");
            }
            if (parse.GetValue(passwordStdin))
            {
                given = Passwords.FromStdin(context) is { Length: > 0 } line ? line : throw new UsageException("no password on stdin");
            }
            else if (given is null && parse.GetValue(admin) && context.CanPrompt)
            {
                context.Error.WriteLine("The admin's panel password (empty: none, the admin then works with API keys only).");
                given = Passwords.Prompt(context) is { Length: > 0 } typed ? typed : null;
            }
            return ManagementCommands.CreateUser(s.Store, parse.GetValue(name)!, parse.GetValue(admin), parse.GetValue(credits), given, parse.GetValue(actor), context.Output);
        })
        {
            name, admin, credits, password, passwordStdin, actor,
        };
    }

    private static StoreCommand Rename(CliContext context)
    {
        var old = new Argument<string>("name-or-id") { Description = "The user's current name, or their id" };
        var renamed = new Argument<string>("new-name") { Description = "1-64 of A-Z a-z 0-9 . _ @ + -, a letter or digit at each end" };
        return new StoreCommand("rename", "Renames a user (their keys, credits and history stay)", context, (parse, s) =>
            ManagementCommands.RenameUser(s.Store, parse.GetValue(old)!, parse.GetValue(renamed)!, context.Output))
        {
            old, renamed,
        };
    }

    private static StoreCommand Password(CliContext context)
    {
        var name = Shared.UserName();
        var fromStdin = new Option<bool>("--password-stdin") { Description = "Reads the password as one line from stdin (without it: a prompt without echo, on a terminal)" };
        // Refused with the reason rather than as an unknown option.
        var onArgv = new Option<string>("--password")
        {
            Hidden = true,
            Validators = { r => r.AddError("users password takes no password on the command line (ps and shell history keep it): type it at the prompt or use --password-stdin") },
        };
        return new StoreCommand("password", "Sets a user's panel password: prompts (no echo) on a terminal, or --password-stdin", context, (parse, s) =>
            UserSecurityCommands.SetPassword(s.Store, parse.GetValue(name)!, parse.GetValue(fromStdin), context))
        {
            name, fromStdin, onArgv,
        };
    }

    private static StoreCommand OnUser(string verb, string description, CliContext context, Func<Storage.Store, string, int> run)
    {
        var name = Shared.UserName();
        return new StoreCommand(verb, description, context, (parse, s) => run(s.Store, parse.GetValue(name)!)) { name };
    }
}
