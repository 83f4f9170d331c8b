using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Catalog;
using Switchboard.Credits;
using Switchboard.Handlers;
using Switchboard.Storage;
using Switchboard.Users;

namespace Switchboard.Cli;

/// <summary>
/// users, keys, credits and catalog: they work on the store directly (<c>--data DIR</c>), so they
/// run beside a live <c>serve</c>, which picks the changes up within its poll interval.
/// </summary>
public static class ManagementCommands
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static int Users(Args args, Store store, TextWriter output)
    {
        switch (args.Word(1, "subcommand (create, rename, list)"))
        {
            case "create":
                var name = args.Word(2, "user name");
                var credits = args.Has("credits") ? args.Number(args.Option("credits"), "--credits") : 0;
                if (args.Has("password") && string.IsNullOrEmpty(args.Option("password")))
                {
                    throw new UsageException("--password needs a value");
                }
                // The same rules as the admin API and the panel, before the store is touched.
                if (UserStore.CheckNew(name, args.Has("admin"), args.Option("password"), credits, adminNeedsPassword: false) is { Count: > 0 } errors)
                {
                    throw new UsageException(string.Join("; ", errors));
                }
                var (user, key) = store.Write(c =>
                    UserStore.CreateWithKey(c, name, args.Has("admin"), credits, args.Option("password"), args.Option("actor") ?? OsUser()));
                output.WriteLine(new JsonObject { ["id"] = user.Id, ["name"] = user.Name, ["api_key"] = key }.ToJsonString(Json));
                return 0;
            case "rename":
                var old = args.Word(2, "user name or id");
                var renamed = args.Word(3, "new name");
                if (UserNames.Problem(renamed) is { } problem)
                {
                    throw new UsageException(problem);
                }
                if (store.Write(c => UserStore.Rename(c, old, renamed)) is not { } before)
                {
                    throw new ArgumentException($"no user named '{old}'");
                }
                output.WriteLine(new JsonObject { ["id"] = before.Id, ["name"] = renamed, ["previous"] = before.Name }.ToJsonString(Json));
                return 0;
            case "list":
                using (var connection = store.Open())
                using (var command = connection.Sql("SELECT id, name, is_admin, credits FROM users ORDER BY name"))
                using (var reader = command.ExecuteReader())
                {
                    while (reader.Read())
                    {
                        output.WriteLine(new JsonObject
                        {
                            ["id"] = reader.GetString(0),
                            ["name"] = reader.GetString(1),
                            ["is_admin"] = reader.GetInt64(2) != 0,
                            ["credits"] = reader.GetInt64(3),
                        }.ToJsonString(Json));
                    }
                }
                return 0;
            default:
                throw new UsageException("users takes create, rename or list");
        }
    }

    public static int Keys(Args args, Store store, TextWriter output, TextWriter error)
    {
        switch (args.Word(1, "subcommand (create, revoke)"))
        {
            case "create":
                var name = args.Word(2, "user name");
                var key = store.Write(c =>
                    UserStore.Find(c, name) is { } user ? UserStore.CreateKey(c, user.Id) : null);
                if (key is null)
                {
                    error.WriteLine($"no user named '{name}'");
                    return 1;
                }
                output.WriteLine(new JsonObject { ["name"] = name, ["api_key"] = key }.ToJsonString(Json));
                return 0;
            case "revoke":
                var prefix = args.Word(2, "key prefix");
                var revoked = store.Write(c => UserStore.RevokeKey(c, prefix));
                if (revoked == 0)
                {
                    error.WriteLine($"no active key with prefix '{prefix}'");
                    return 1;
                }
                output.WriteLine(new JsonObject { ["revoked"] = revoked }.ToJsonString(Json));
                return 0;
            default:
                throw new UsageException("keys takes create or revoke");
        }
    }

    public static int Credits(Args args, Store store, TextWriter output, TextWriter error)
    {
        var sub = args.Word(1, "subcommand (grant, adjust, show, audit)");
        if (sub == "audit")
        {
            AuditReport report;
            using (var connection = store.Open())
            {
                report = CreditsAudit.Run(connection);
            }
            output.WriteLine(report.ToJson().ToJsonString(Json));
            return report.Ok ? 0 : 1;
        }
        var name = args.Word(2, "user name");
        if (sub is CreditMoves.Grant or CreditMoves.Adjust)
        {
            var amount = args.Number(args.Word(3, "amount"), "amount");
            var note = args.Option("note") ?? (sub == CreditMoves.Grant ? "granted from the command line" : null);
            if (args.Has("actor") && string.IsNullOrWhiteSpace(args.Option("actor")))
            {
                throw new UsageException("--actor needs a value");
            }
            try
            {
                // Bad input is a usage error (exit 2), before the store is touched.
                CreditMoves.Validate(sub, amount, note);
            }
            catch (CreditMoveException ex)
            {
                throw new UsageException(ex.Message);
            }
            CreditMove move;
            try
            {
                move = store.Write(c => CreditMoves.Apply(c, name, sub, amount, note, args.Option("actor") ?? OsUser()));
            }
            catch (CreditMoveException ex)
            {
                // No such user, or the balance would go below zero: the unit wrote nothing.
                error.WriteLine($"switchboard: {ex.Message} (nothing changed)");
                return 1;
            }
            output.WriteLine(new JsonObject
            {
                ["name"] = move.User.Name,
                ["credits"] = move.User.Credits,
                ["entry"] = CreditMoves.ToJson(move.Entry),
            }.ToJsonString(Json));
            return 0;
        }
        if (sub != "show")
        {
            throw new UsageException("credits takes grant, adjust, show or audit");
        }
        using var reader = store.Open();
        if (UserStore.Find(reader, name) is not { } info)
        {
            error.WriteLine($"no user named '{name}'");
            return 1;
        }
        var ledger = new JsonArray([.. UserStore.Ledger(reader, info.Id).Select(e => (JsonNode)CreditMoves.ToJson(e))]);
        output.WriteLine(new JsonObject { ["name"] = info.Name, ["credits"] = info.Credits, ["ledger"] = ledger }.ToJsonString(Json));
        return 0;
    }

    /// <summary>Who runs the command, recorded as the actor of grants and adjustments unless --actor says otherwise.</summary>
    internal static string OsUser()
    {
        try
        {
            return Environment.UserName is { Length: > 0 } user ? user : "unknown";
        }
        catch (InvalidOperationException)
        {
            return "unknown";
        }
    }

    public static int Catalog(Args args, Config.BootstrapConfig bootstrap, Store store, HandlerRegistry handlers, TextWriter output, TextWriter error)
    {
        switch (args.Word(1, "subcommand (apply, export, check)"))
        {
            case "apply":
                var file = args.Word(2, "catalog file");
                if (!File.Exists(file))
                {
                    error.WriteLine($"{file}: no such file");
                    return 1;
                }
                var document = CatalogDocument.ReadYaml(File.ReadAllText(file), out var yamlError);
                var parsed = yamlError is not null
                    ? new CatalogDocument.Parsed([], [], [], [yamlError])
                    : store.Write(c => CatalogEdits.Apply(c, handlers.Ids, document));
                if (parsed.Errors.Count > 0)
                {
                    foreach (var problem in parsed.Errors)
                    {
                        error.WriteLine($"{file}: {problem}");
                    }
                    error.WriteLine($"{file}: not applied ({parsed.Errors.Count} problem(s))");
                    return 1;
                }
                output.WriteLine($"applied {parsed.Handlers.Count} handler(s), {parsed.Offers.Count} offer(s) and {parsed.Deals.Count} deal(s)");
                // Applied all the same (exit 0): the config may come after the catalog.
                var (problems, notes) = HandlerConfigReport.Of(bootstrap, store, handlers);
                problems.ForEach(p => error.WriteLine("warning: " + p));
                notes.ForEach(n => error.WriteLine("note: " + n));
                return 0;
            case "export":
                using (var connection = store.Open())
                {
                    output.Write(CatalogDocument.Export(CatalogStore.Load(connection)));
                }
                return 0;
            case "check":
                return CatalogCheck(bootstrap, store, handlers, output);
            default:
                throw new UsageException("catalog takes apply, export or check");
        }
    }

    /// <summary>
    /// Lists stored offers that are not live because their params still name a URL or a key
    /// variable (stored before endpoint profiles), or because their handler's endpoint profile is
    /// missing from svc_handlers, with what to do; exit 1 when there are any.
    /// </summary>
    private static int CatalogCheck(Config.BootstrapConfig bootstrap, Store store, HandlerRegistry handlers, TextWriter output)
    {
        using var connection = store.Open();
        var stale = CatalogStore.Load(connection).Offers
            .Select(o => (Offer: o, Legacy: EndpointProfiles.LegacyParams(o.Params)))
            .Where(x => x.Legacy.Count > 0)
            .Select(x => $"{x.Offer.Service}/{x.Offer.Action} ({x.Offer.Handler}): not live; {EndpointProfiles.Fix(x.Offer.Handler, x.Legacy)}")
            .ToList();
        var (problems, notes) = HandlerConfigReport.Of(bootstrap, store, handlers);
        stale.AddRange(problems);
        stale.ForEach(output.WriteLine);
        notes.ForEach(n => output.WriteLine("note: " + n));
        output.WriteLine(stale.Count == 0 ? "every offer is fine" : $"{stale.Count} offer(s) to fix");
        return stale.Count == 0 ? 0 : 1;
    }
}
