using System.CommandLine;

namespace Switchboard.Cli.Commands;

/// <summary><c>config push|list|show|pull|diff|rollback|rotate-key</c>: app configs in the store, every version kept.</summary>
public sealed class ConfigCommand : Command
{
    public ConfigCommand(CliContext context) : base("config", "App configs in the store, every version kept: push, list, show, pull, diff, rollback, rotate-key")
    {
        Add(Push(context));

        var listId = new Argument<string?>("id") { Description = "Only this config's versions", Arity = ArgumentArity.ZeroOrOne };
        var list = new StoreCommand("list", "Lists stored versions, one JSON line each", context, (parse, s) => ConfigCommands.List(s, parse.GetValue(listId), context.Output))
        {
            Recorded = StoreCommand.OnlyReads,
        }.With(listId);
        Add(list);

        var showId = Id();
        var showVersion = Shared.Version("The version (default: the active one)");
        var reveal = new Option<bool>("--reveal") { Description = "Shows secrets in clear (recorded in the audit trail)" };
        // Recorded only when it reveals secrets.
        var show = new StoreCommand("show", "Shows a version, secrets masked unless --reveal", context, (parse, s) =>
            ConfigCommands.Show(s, parse.GetValue(showId)!, parse.GetValue(showVersion), parse.GetValue(reveal), context.Output, context.Error))
        {
            Recorded = parse => parse.GetValue(reveal),
        }.With(showId, showVersion, reveal);
        Add(show);

        var pullId = Id();
        var pullVersion = Shared.Version("The version (default: the active one)");
        var pull = new StoreCommand("pull", "Prints a version as stored (secrets sealed)", context, (parse, s) =>
            ConfigCommands.Pull(s, parse.GetValue(pullId)!, parse.GetValue(pullVersion), context.Output, context.Error))
        {
            Recorded = StoreCommand.OnlyReads,
        }.With(pullId, pullVersion);
        Add(pull);

        var diffId = Id();
        var from = new Argument<string>("v1") { Description = "The first version" };
        var to = new Argument<string>("v2") { Description = "The second version" };
        var diff = new StoreCommand("diff", "Differences between two versions by key path (secrets: only whether they changed)", context, (parse, s) =>
            ConfigCommands.Diff(s, parse.GetValue(diffId)!, parse.GetValue(from)!, parse.GetValue(to)!, context.Output, context.Error))
        {
            Recorded = StoreCommand.OnlyReads,
        }.With(diffId, from, to);
        Add(diff);

        var rollbackId = Id();
        var target = new Option<string>("--to") { Description = "The version to make active", HelpName = "V", Required = true };
        var author = Shared.Author();
        Add(new StoreCommand("rollback", "Makes an earlier version active again", context, (parse, s) =>
            ConfigCommands.Rollback(s, parse.GetValue(rollbackId)!, parse.GetValue(target)!, parse.GetValue(author), context.Output, context.Error))
        {
            rollbackId, target, author,
        });

        Add(new StoreCommand("rotate-key", "Reseals every stored secret (and the panel's keys) with the bootstrap config's first Fernet key", context, (_, s) =>
            ConfigCommands.RotateKey(s, context.Output)));
    }

    private static Argument<string> Id() => new("id") { Description = "The config's id (e.g. svc_handlers, resource_map)" };

    private static StoreCommand Push(CliContext context)
    {
        var file = new Argument<string>("file") { Description = "The config YAML; keys starting with ~ are secrets, sealed before they are stored" };
        var id = new Option<string>("--id") { Description = "The config's id", HelpName = "ID", Required = true };
        var version = Shared.Version("The new version (default: the next minor one)");
        var comment = new Option<string?>("--comment") { Description = "Why, kept with the version", HelpName = "C" };
        var author = Shared.Author();
        var encrypted = new Option<bool>("--encrypted") { Description = "The file's secrets are sealed already (checked, stored as they are)" };
        var inactive = new Option<bool>("--inactive") { Description = "Stores the version without making it active" };
        return new StoreCommand("push", "Stores a new version of a config and (unless --inactive) makes it active", context, (parse, s) =>
            ConfigCommands.Push(s, CatalogCommand.HandlersOf(s.Bootstrap), new ConfigCommands.PushOptions(
                parse.GetValue(file)!, parse.GetValue(id)!, parse.GetValue(version), parse.GetValue(comment), parse.GetValue(author), parse.GetValue(encrypted), parse.GetValue(inactive)),
                context.Output, context.Error))
        {
            file, id, version, comment, author, encrypted, inactive,
        };
    }
}
