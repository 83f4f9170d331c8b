using System.CommandLine;
using System.CommandLine.Parsing;
using System.Data.Common;
using Switchboard.Audit;

namespace Switchboard.Cli;

/// <summary>
/// The one recording point of the CLI in the audit trail: <see cref="StoreCommand"/> calls
/// <see cref="Record"/> after every command that succeeded and is not marked as only reading,
/// so a command added later is recorded without being listed anywhere.
/// </summary>
public static class CliAudit
{
    /// <summary>The action a parsed command names: its path below the root, e.g. "users create".</summary>
    public static string ActionOf(ParseResult parse)
    {
        var words = new List<string>();
        for (var result = parse.CommandResult; result.Parent is CommandResult parent; result = parent)
        {
            words.Insert(0, result.Command.Name);
        }
        return string.Join(' ', words);
    }

    /// <summary>
    /// Records a command that succeeded: its first argument is the target, the others and the
    /// options given (secrets redacted; not the ones saying where the store is) its details. It
    /// runs after the command's own write committed, so a record that fails cannot undo it: the
    /// failure is then the command's result (exit 1 and a message saying the action was done),
    /// never silent.
    /// </summary>
    public static int Record(ParseResult parse, Store store, IReadOnlySet<Option> storeOptions, TextWriter error)
    {
        var action = ActionOf(parse);
        var arguments = parse.CommandResult.Children.OfType<ArgumentResult>().SelectMany(a => a.Tokens).Select(t => t.Value).ToList();
        var options = parse.CommandResult.Children.OfType<OptionResult>()
            .Where(o => !o.Implicit && !storeOptions.Contains(o.Option))
            .Select(o => (Name: o.Option.Name.TrimStart('-'), Value: o.Tokens.Count > 0 ? o.Tokens[0].Value : "true"))
            .ToList();
        var osUser = ManagementCommands.OsUser();
        var actor = options.FirstOrDefault(o => o.Name == "actor").Value ?? options.FirstOrDefault(o => o.Name == "author").Value ?? osUser;
        var details = new JsonObject
        {
            ["os_user"] = osUser,
            ["args"] = AuditRedaction.Redact(new JsonArray([.. arguments.Skip(1).Select(w => (JsonNode)w)])),
            ["options"] = AuditRedaction.Object(options.Select(o => (o.Name, (JsonNode?)o.Value))),
        };
        try
        {
            store.Write(c =>
            {
                AuditLog.Record(c, actor, AuditLog.Cli, null, action, arguments.FirstOrDefault(), 0, details);
                return true;
            });
            return CommandLine.Ok;
        }
        catch (DbException ex)
        {
            error.WriteLine($"switchboard: {action} was done, but its audit record could not be written: {ex.Message}");
            return CommandLine.Failed;
        }
    }
}
