using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Data.Common;
using Switchboard.Config;
using Switchboard.Cli.Commands;

namespace Switchboard.Cli;

/// <summary>
/// The one executable's command line: a System.CommandLine <see cref="RootCommand"/> built from
/// one command class per verb (<c>Cli/Commands/</c>). The library parses, writes <c>--help</c>
/// at every level and <c>--version</c>, refuses unknown commands and options with a "did you
/// mean" and answers the <c>[suggest]</c> directive for shell completion. Exit codes: 0 done,
/// 1 failed (docs/cli.md says which commands use 1 for a finding), 2 usage.
/// </summary>
public static class CommandLine
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    /// <param name="input">stdin for the commands that read it; null means the console's (a prompt when it is a terminal).</param>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, TextReader? input = null)
    {
        var (parserArgs, serverArgs) = ConfigOverrides.Split(args);
        var root = Build(new CliContext(output, error, input, serverArgs));
        // Response files (@file) off: a word is what it says (a password or a file name may start with @).
        var parse = root.Parse(parserArgs, new ParserConfiguration { ResponseFileTokenReplacer = null });
        var failedToParse = parse.Action is ParseErrorAction;
        var invocation = new InvocationConfiguration
        {
            Output = failedToParse ? error : output, // the help after a parse error goes with the error, not into a pipe
            Error = error,
            // The servers' host handles SIGTERM/SIGINT itself (a graceful drain); exceptions are ours to word.
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            var exit = await parse.InvokeAsync(invocation);
            return failedToParse ? Usage : exit;
        }
        catch (UsageException ex)
        {
            error.WriteLine($"switchboard: {ex.Message}");
            error.WriteLine();
            // The command's own help, as --help writes it, on stderr.
            var help = root.Parse([.. CliAudit.ActionOf(parse).Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"]);
            await help.InvokeAsync(new InvocationConfiguration { Output = error, Error = error });
            return Usage;
        }
        catch (ArgumentException ex)
        {
            error.WriteLine($"switchboard: {ex.Message}");
            return Failed;
        }
        catch (DbException ex)
        {
            error.WriteLine($"switchboard: the store failed: {ex.Message}");
            return Failed;
        }
    }

    /// <summary>The root command and every verb under it, writing to <paramref name="context"/>'s streams.</summary>
    public static RootCommand Build(CliContext context)
    {
        var root = new RootCommand("""
            Switchboard sells generative-AI integrations as asynchronous REST actions.
            One executable, every role: `switchboard serve` runs a server; the other commands manage its store.
            Reference: docs/cli.md. Exit codes: 0 done, 1 failed, 2 usage.
            """)
        {
            new ServerCommand(Role.Serve, context),
            new ServerCommand(Role.Api, context),
            new ServerCommand(Role.Executor, context),
            new ServerCommand(Role.Recon, context),
            new UsersCommand(context),
            new KeysCommand(context),
            new PlansCommand(context),
            new CreditsCommand(context),
            new CatalogCommand(context),
            new HandlersCommand(context),
            new ConfigCommand(context),
            UsageCommand.Create(context),
            AuditCommand.Create(context),
            BackupCommands.Backup(context), BackupCommands.Restore(context),
            new KeygenCommand(context),
            new CompletionCommand(context),
        };
        // `switchboard help`, as before the parser: the root's help.
        var help = new Command("help", "Shows the commands") { Hidden = true };
        help.SetAction(_ => root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = context.Output, Error = context.Error }));
        root.Add(help);
        // A bare `switchboard` used to start a server: now it shows the commands and fails, so a
        // service that still runs it bare stops loudly instead of exiting "successfully".
        root.SetAction(parse =>
        {
            new HelpAction().Invoke(parse);
            return Failed;
        });
        return root;
    }
}

/// <summary>Bad input on the command line, found after parsing (exit 2, with the command's help).</summary>
public sealed class UsageException(string message) : Exception(message);
