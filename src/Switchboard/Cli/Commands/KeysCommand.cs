using System.CommandLine;
using Switchboard.Users;

namespace Switchboard.Cli.Commands;

/// <summary><c>keys create|list|revoke</c>: API keys, with their names and limits.</summary>
public sealed class KeysCommand : Command
{
    public KeysCommand(CliContext context) : base("keys", "API keys: create one for a user (with limits), list a user's, revoke one by its prefix")
    {
        Add(Create(context));
        var listed = Shared.UserName();
        Add(new StoreCommand("list", "Lists a user's keys, one JSON line each: prefix, name, limits (never the key)", context, (parse, s) =>
        {
            using var connection = s.Store.Open();
            if (UserStore.Find(connection, parse.GetValue(listed)!) is not { } user)
            {
                context.Error.WriteLine($"no user named '{parse.GetValue(listed)}'");
                return 1;
            }
            foreach (var key in UserStore.Keys(connection, user.Id))
            {
                context.Output.WriteLine(UsersAdminEndpoints.ToJson(key).ToJsonString());
            }
            return 0;
        })
        {
            Recorded = StoreCommand.OnlyReads,
        }.With(listed));
        var prefix = new Argument<string>("key-prefix") { Description = "The key's first characters, as listings show them (e.g. sb_1a2b3c4d); keys made under it are revoked too" };
        Add(new StoreCommand("revoke", "Revokes the active key with this prefix, and the keys made under it", context, (parse, s) =>
            ManagementCommands.RevokeKey(s.Store, parse.GetValue(prefix)!, context.Output, context.Error))
        {
            prefix,
        });
    }

    private static StoreCommand Create(CliContext context)
    {
        var name = Shared.UserName();
        var keyName = new Option<string?>("--name") { Description = "A name for the key, shown in listings", HelpName = "TEXT" };
        var scopes = new Option<string[]>("--scope")
        {
            Description = "What the key may buy, repeatable: a glob over offers (service/action) and deals (deal:NAME), e.g. 'images/*', 'deal:poster'. Default: everything",
            HelpName = "GLOB",
        };
        var rpm = new Option<int?>("--rpm") { Description = "Purchases per minute (across every api process)", HelpName = "N" };
        var maxConcurrent = new Option<int?>("--max-concurrent") { Description = "Requests queued or running at once", HelpName = "N" };
        var budget = new Option<long?>("--budget") { Description = "Credits the key may spend per --budget-period (on top of the user's balance)", HelpName = "CREDITS" };
        var period = new Option<string?>("--budget-period") { Description = "day, month (UTC windows) or total (default)", HelpName = "P" };
        var expires = new Option<string?>("--expires") { Description = "When the key stops working: a duration (90m, 12h, 30d) or a UTC date (2027-01-31)", HelpName = "WHEN" };
        return new StoreCommand("create", "Creates an API key for a user (printed once, as JSON), with optional name and limits", context, (parse, s) =>
        {
            var now = Storage.Clock.NowMs();
            long? expiresAt = null;
            if (parse.GetValue(expires) is { } text && (expiresAt = KeySettings.ParseExpiry(text, now)) is null)
            {
                throw new UsageException("--expires is a duration (90m, 12h, 30d) or a UTC date (2027-01-31)");
            }
            var given = parse.GetValue(scopes);
            var settings = new KeySettings(
                parse.GetValue(keyName), given is { Length: > 0 } ? given : null, parse.GetValue(rpm), parse.GetValue(maxConcurrent),
                parse.GetValue(budget), parse.GetValue(period), expiresAt);
            if (settings.Problems(now) is { Count: > 0 } problems)
            {
                throw new UsageException(string.Join("; ", problems));
            }
            var user = parse.GetValue(name)!;
            var key = s.Store.Write(c => UserStore.Find(c, user) is { } found ? UserStore.CreateKey(c, found.Id, settings, null) : null);
            if (key is null)
            {
                context.Error.WriteLine($"no user named '{user}'");
                return 1;
            }
            var json = settings.ToJson();
            json["key_name"] = settings.Name;
            json["name"] = user;
            json["prefix"] = UserStore.KeyName(key);
            json["api_key"] = key;
            context.Output.WriteLine(json.ToJsonString());
            return 0;
        })
        {
            name, keyName, scopes, rpm, maxConcurrent, budget, period, expires,
        };
    }
}
