using System.CommandLine;
using Switchboard.Config;

namespace Switchboard.Cli.Commands;

/// <summary><c>keygen</c>: a new Fernet key, for a bootstrap config's <c>fernet_key</c>. Touches no store.</summary>
public sealed class KeygenCommand : Command
{
    public KeygenCommand(CliContext context) : base("keygen", "Prints a new Fernet key (for fernet_key in a bootstrap config)")
    {
        SetAction(_ =>
        {
            context.Output.WriteLine(Fernet.GenerateKey());
            return CommandLine.Ok;
        });
    }
}
