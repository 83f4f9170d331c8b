using System.Text.Json.Nodes;
using Switchboard.Storage;
using Switchboard.Usage;
using Switchboard.Users;

namespace Switchboard.Cli;

/// <summary>
/// <c>usage [--resource R] [--handler H] [--user NAME] [--since 24h] [--per-minute]</c>: handler
/// calls, credits, errors and latency from <c>usage_minutes</c>, one JSON line per (resource,
/// handler), or per minute of it.
/// </summary>
public static class UsageCommand
{
    public const string Usage = "  usage [--resource R] [--handler H] [--user NAME] [--since 24h] [--per-minute]";

    public static int Run(Args args, Store store, TextWriter output, TextWriter error)
    {
        var since = args.Has("since") ? args.Option("since") ?? "" : UsageQuery.DefaultSince;
        if (UsageQuery.SinceMs(since, Clock.NowMs()) is not { } sinceMs)
        {
            throw new UsageException($"--since must be {UsageQuery.SinceHelp}, not '{since}'");
        }
        foreach (var option in new[] { "resource", "handler", "user" })
        {
            if (args.Has(option) && string.IsNullOrEmpty(args.Option(option)))
            {
                throw new UsageException($"--{option} needs a value");
            }
        }
        using var connection = store.Open();
        UserInfo? user = null;
        if (args.Option("user") is { } name && (user = UserStore.Find(connection, name)) is null)
        {
            error.WriteLine($"no user named '{name}'");
            return 1;
        }
        var filter = new UsageFilter(sinceMs, args.Option("resource"), args.Option("handler"), user?.Id, args.Has("per-minute"));
        foreach (var row in UsageQuery.Totals(connection, filter))
        {
            output.WriteLine(UsageQuery.ToJson(row, user?.Name).ToJsonString());
        }
        return 0;
    }
}
