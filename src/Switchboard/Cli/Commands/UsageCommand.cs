using System.CommandLine;
using Switchboard.Usage;
using Switchboard.Users;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>usage</c>: handler calls, credits, errors and latency from <c>usage_minutes</c>, one JSON
/// line per (resource, handler), or per minute of it.
/// </summary>
public static class UsageCommand
{
    public static StoreCommand Create(CliContext context)
    {
        var resource = new Option<string?>("--resource") { Description = "Only this resource", HelpName = "R" };
        var handler = new Option<string?>("--handler") { Description = "Only this handler", HelpName = "H" };
        var user = new Option<string?>("--user") { Description = "Only this user's requests", HelpName = "NAME" };
        var since = new Option<string>("--since") { Description = $"From when: {UsageQuery.SinceHelp}", HelpName = "WHEN", DefaultValueFactory = _ => UsageQuery.DefaultSince };
        var perMinute = new Option<bool>("--per-minute") { Description = "One line per minute instead of totals" };
        return new StoreCommand("usage", "Handler calls, credits, errors and latency per resource and handler, one JSON line each", context, (parse, s) =>
        {
            var from = parse.GetValue(since)!;
            if (UsageQuery.SinceMs(from, Clock.NowMs()) is not { } sinceMs)
            {
                throw new UsageException($"--since must be {UsageQuery.SinceHelp}, not '{from}'");
            }
            foreach (var option in new[] { resource, handler, user })
            {
                if (parse.GetResult(option) is not null && string.IsNullOrEmpty(parse.GetValue(option)))
                {
                    throw new UsageException($"{option.Name} needs a value");
                }
            }
            using var connection = s.Store.Open();
            UserInfo? found = null;
            if (parse.GetValue(user) is { } name && (found = UserStore.Find(connection, name)) is null)
            {
                context.Error.WriteLine($"no user named '{name}'");
                return CommandLine.Failed;
            }
            var filter = new UsageFilter(sinceMs, parse.GetValue(resource), parse.GetValue(handler), found?.Id, parse.GetValue(perMinute));
            foreach (var row in UsageQuery.Totals(connection, filter))
            {
                context.Output.WriteLine(UsageQuery.ToJson(row, found?.Name).ToJsonString());
            }
            return CommandLine.Ok;
        })
        {
            Recorded = StoreCommand.OnlyReads,
        }.With(resource, handler, user, since, perMinute);
    }
}
