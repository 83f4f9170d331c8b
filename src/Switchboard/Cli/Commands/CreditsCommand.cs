using System.CommandLine;
using Switchboard.Users;

namespace Switchboard.Cli.Commands;

/// <summary><c>credits grant|adjust|show|audit</c>: balances and the ledger.</summary>
public sealed class CreditsCommand : Command
{
    public CreditsCommand(CliContext context) : base("credits", "Credits: grant, adjust, show a user's ledger, audit every balance")
    {
        Add(Move(CreditMoves.Grant, "Grants credits to a user (N > 0)", "Why (default: granted from the command line)", context));
        Add(Move(CreditMoves.Adjust, "Corrects a balance by N (may be negative; refused below zero); --note is required", "Why (required)", context));
        var name = Shared.UserName();
        var show = new StoreCommand("show", "A user's balance and ledger, as JSON", context, (parse, s) =>
            ManagementCommands.ShowCredits(s.Store, parse.GetValue(name)!, context.Output, context.Error))
        {
            Recorded = StoreCommand.OnlyReads,
        }.With(name);
        Add(show);
        Add(new StoreCommand("audit", "Checks balances against the ledger, charges and refunds (exit 1 when they disagree)", context, (_, s) =>
            ManagementCommands.AuditCredits(s.Store, context.Output))
        {
            Recorded = StoreCommand.OnlyReads,
        });
    }

    private static StoreCommand Move(string kind, string description, string noteHelp, CliContext context)
    {
        var name = Shared.UserName();
        var amount = new Argument<long>("N") { Description = "Credits (a negative N after --, e.g. -- alice -3)" };
        var note = new Option<string?>("--note") { Description = noteHelp, HelpName = "TEXT" };
        var actor = Shared.Actor();
        return new StoreCommand(kind, description, context, (parse, s) =>
            ManagementCommands.MoveCredits(s.Store, kind, parse.GetValue(name)!, parse.GetValue(amount), parse.GetValue(note), parse.GetValue(actor), context.Output, context.Error))
        {
            name, amount, note, actor,
        };
    }
}
