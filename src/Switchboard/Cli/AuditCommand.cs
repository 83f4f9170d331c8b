using System.Data.Common;
using System.Text.Json.Nodes;
using Switchboard.Audit;
using Switchboard.Storage;

namespace Switchboard.Cli;

/// <summary>
/// The CLI's side of the audit trail: <c>switchboard audit</c> reads it, and <see cref="Record"/>
/// is the one recording point of every command that changes something. Commands are recorded
/// unless they are known to only read (<see cref="ReadOnly"/>), so a command added later is
/// recorded without being listed here.
/// </summary>
public static class AuditCommand
{
    public const string Usage = """
          audit [--actor A] [--action "users create"] [--target T] [--since 24h|ISO] [--until …] [--limit N] [--before ID]
                                                          the audit trail, newest first, one JSON line each
        """;

    /// <summary>Commands (and "command subcommand"s) that change nothing. <c>config show --reveal</c> is recorded: it shows secrets.</summary>
    private static readonly HashSet<string> ReadOnly =
    [
        "users list", "credits show", "credits audit", "catalog export", "config list", "config show", "config pull", "config diff", "usage", "audit",
    ];

    /// <summary>Options that say where the store is, not what was done.</summary>
    private static readonly HashSet<string> StoreOptions = ["config", "data"];

    public static int Run(Args args, Store store, TextWriter output, TextWriter error)
    {
        var (filter, errors) = AuditQuery.Parse(args.Option, Clock.NowMs());
        if (filter is null)
        {
            throw new UsageException(string.Join("; ", errors));
        }
        using var connection = store.Open();
        var rows = AuditLog.Read(connection, filter);
        foreach (var row in rows)
        {
            output.WriteLine(row.ToJson().ToJsonString());
        }
        if (AuditLog.Page(rows, filter.Limit)["next_before"] is { } next)
        {
            error.WriteLine($"(more: --before {next})");
        }
        return 0;
    }

    /// <summary>The action a command line names, e.g. "users create", and whether it changes anything.</summary>
    public static (string Action, bool Changes) ActionOf(Args args)
    {
        var words = args.Positional;
        var action = words.Count > 1 && words[0] != "usage" ? $"{words[0]} {words[1]}" : words.Count > 0 ? words[0] : "";
        return (action, !ReadOnly.Contains(action) || args.Has("reveal"));
    }

    /// <summary>
    /// Records a command that succeeded. It runs after the command's own write committed, so a
    /// record that fails cannot undo it: the failure is then the command's result (exit 1 and a
    /// message saying the action was done), never silent.
    /// </summary>
    public static int Record(Args args, Store store, string action, TextWriter error)
    {
        var osUser = ManagementCommands.OsUser();
        var actor = args.Option("actor") ?? args.Option("author") ?? osUser;
        var details = new JsonObject
        {
            ["os_user"] = osUser,
            ["args"] = AuditRedaction.Redact(new JsonArray([.. args.Positional.Skip(3).Select(w => (JsonNode)w)])),
            ["options"] = AuditRedaction.Object(args.Options.Where(o => !StoreOptions.Contains(o.Key)).Select(o => (o.Key, (JsonNode?)(o.Value ?? "true")))),
        };
        var target = args.Positional.Count > 2 ? args.Positional[2] : null;
        try
        {
            store.Write(c =>
            {
                AuditLog.Record(c, actor, AuditLog.Cli, null, action, target, 0, details);
                return true;
            });
            return 0;
        }
        catch (DbException ex)
        {
            error.WriteLine($"switchboard: {action} was done, but its audit record could not be written: {ex.Message}");
            return 1;
        }
    }
}
