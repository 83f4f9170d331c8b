using System.CommandLine;
using Switchboard.Config;

namespace Switchboard.Cli;

/// <summary>
/// A command that works on the store directly (so it runs beside a live server, which picks
/// the change up within its poll interval): it takes <c>--config FILE</c> or <c>--data DIR</c>,
/// opens and migrates the store, runs, and records itself in the audit trail
/// (<see cref="CliAudit"/>) when it succeeded, unless <see cref="Recorded"/> says it only read.
/// </summary>
public sealed class StoreCommand : Command
{
    private readonly Option<string> _config = Commands.Shared.Config();
    private readonly Option<string> _data = Commands.Shared.Data();

    public StoreCommand(string name, string description, CliContext context, Func<ParseResult, StoreAccess, int> run) : base(name, description)
    {
        Add(_config);
        Add(_data);
        SetAction(async (parse, _) =>
        {
            var bootstrap = BootstrapConfig.Resolve(parse.GetValue(_config), parse.GetValue(_data)!);
            await using var store = bootstrap.OpenStore();
            store.Migrate();
            var exit = run(parse, new StoreAccess(bootstrap, store));
            return exit == CommandLine.Ok && Recorded(parse) ? CliAudit.Record(parse, store, new HashSet<Option> { _config, _data }, context.Error) : exit;
        });
    }

    /// <summary>Whether a successful run goes into the audit trail: always, unless the command says it only reads.</summary>
    public Func<ParseResult, bool> Recorded { get; init; } = _ => true;

    /// <summary>Adds arguments and options (for a command that also sets <see cref="Recorded"/>).</summary>
    public StoreCommand With(params Symbol[] symbols)
    {
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Argument argument:
                    Add(argument);
                    break;
                case Option option:
                    Add(option);
                    break;
                default:
                    throw new ArgumentException($"not an argument or option: {symbol.Name}");
            }
        }
        return this;
    }

    /// <summary>For the commands that change nothing.</summary>
    public static bool OnlyReads(ParseResult parse) => false;
}

/// <summary>The bootstrap config a command resolved, and its store, open and migrated.</summary>
public sealed record StoreAccess(BootstrapConfig Bootstrap, Store Store);
