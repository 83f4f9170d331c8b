using System.CommandLine;

namespace Switchboard.Cli.Commands;

/// <summary><c>keys create|revoke</c>: API keys.</summary>
public sealed class KeysCommand : Command
{
    public KeysCommand(CliContext context) : base("keys", "API keys: create one for a user, revoke one by its prefix")
    {
        var name = Shared.UserName();
        Add(new StoreCommand("create", "Creates an API key for a user (printed once, as JSON)", context, (parse, s) =>
            ManagementCommands.CreateKey(s.Store, parse.GetValue(name)!, context.Output, context.Error))
        {
            name,
        });
        var prefix = new Argument<string>("key-prefix") { Description = "The key's first characters, as the panel shows them (e.g. sk-1a2b3c4)" };
        Add(new StoreCommand("revoke", "Revokes the active key with this prefix", context, (parse, s) =>
            ManagementCommands.RevokeKey(s.Store, parse.GetValue(prefix)!, context.Output, context.Error))
        {
            prefix,
        });
    }
}
