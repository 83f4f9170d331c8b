using System.CommandLine;
using Switchboard.Audit;

namespace Switchboard.Cli.Commands;

/// <summary><c>audit</c>: the audit trail, newest first, with the admin API's filters (<see cref="AuditQuery"/>).</summary>
public static class AuditCommand
{
    public static StoreCommand Create(CliContext context)
    {
        var filters = new Dictionary<string, Option<string?>>
        {
            ["actor"] = new("--actor") { Description = "Only this actor's actions", HelpName = "A" },
            ["action"] = new("--action") { Description = "Only this action, e.g. \"users create\"", HelpName = "ACTION" },
            ["target"] = new("--target") { Description = "Only actions on this target", HelpName = "T" },
            ["since"] = new("--since") { Description = $"From: {AuditQuery.TimeHelp}", HelpName = "WHEN" },
            ["until"] = new("--until") { Description = $"Until: {AuditQuery.TimeHelp}", HelpName = "WHEN" },
            ["limit"] = new("--limit") { Description = $"At most N rows (default {AuditLog.DefaultLimit}, at most {AuditLog.MaxLimit})", HelpName = "N" },
            ["before"] = new("--before") { Description = "Rows older than this id (the next page)", HelpName = "ID" },
        };
        return new StoreCommand("audit", "The audit trail, newest first, one JSON line each", context, (parse, s) =>
        {
            var (filter, errors) = AuditQuery.Parse(name => parse.GetValue(filters[name]), Clock.NowMs());
            if (filter is null)
            {
                throw new UsageException(string.Join("; ", errors));
            }
            using var connection = s.Store.Open();
            var rows = AuditLog.Read(connection, filter);
            foreach (var row in rows)
            {
                context.Output.WriteLine(row.ToJson().ToJsonString());
            }
            if (AuditLog.Page(rows, filter.Limit)["next_before"] is { } next)
            {
                context.Error.WriteLine($"(more: --before {next})");
            }
            return CommandLine.Ok;
        })
        {
            Recorded = StoreCommand.OnlyReads,
        }.With([.. filters.Values]);
    }
}
