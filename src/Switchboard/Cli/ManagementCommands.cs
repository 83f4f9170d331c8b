using System.Text.Json;
using Switchboard.Config;
using Switchboard.Catalog;
using Switchboard.Credits;
using Switchboard.Handlers;
using Switchboard.Users;

namespace Switchboard.Cli;

/// <summary>
/// What users, keys, credits and catalog do, fed by the parsed values of their commands
/// (<c>Cli/Commands/</c>); the JSON lines they print are read by scripts and tests.
/// </summary>
public static class ManagementCommands
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static int CreateUser(Store store, string name, bool admin, long credits, string? password, string? actor, TextWriter output)
    {
        // The same rules as the admin API and the panel, before the store is touched.
        if (UserStore.CheckNew(name, admin, password, credits, adminNeedsPassword: false) is { Count: > 0 } errors)
        {
            throw new UsageException(string.Join("; ", errors));
        }
        var (user, key) = store.Write(c => UserStore.CreateWithKey(c, name, admin, credits, password, actor ?? OsUser()));
        output.WriteLine(new JsonObject { ["id"] = user.Id, ["name"] = user.Name, ["api_key"] = key }.ToJsonString(Json));
        return 0;
    }

    public static int RenameUser(Store store, string old, string renamed, TextWriter output)
    {
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
    }

    public static int ListUsers(Store store, TextWriter output)
    {
        using var connection = store.Open();
        using var command = connection.Sql("SELECT id, name, is_admin, credits FROM users ORDER BY name");
        using var reader = command.ExecuteReader();
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
        return 0;
    }

    public static int CreateKey(Store store, string name, TextWriter output, TextWriter error)
    {
        var key = store.Write(c => UserStore.Find(c, name) is { } user ? UserStore.CreateKey(c, user.Id) : null);
        if (key is null)
        {
            error.WriteLine($"no user named '{name}'");
            return 1;
        }
        output.WriteLine(new JsonObject { ["name"] = name, ["api_key"] = key }.ToJsonString(Json));
        return 0;
    }

    public static int RevokeKey(Store store, string prefix, TextWriter output, TextWriter error)
    {
        var revoked = store.Write(c => UserStore.RevokeKey(c, prefix));
        if (revoked == 0)
        {
            error.WriteLine($"no active key with prefix '{prefix}'");
            return 1;
        }
        output.WriteLine(new JsonObject { ["revoked"] = revoked }.ToJsonString(Json));
        return 0;
    }

    /// <summary>Balances against the ledger, charges and refunds; exit 1 when they disagree.</summary>
    public static int AuditCredits(Store store, TextWriter output)
    {
        AuditReport report;
        using (var connection = store.Open())
        {
            report = CreditsAudit.Run(connection);
        }
        output.WriteLine(report.ToJson().ToJsonString(Json));
        return report.Ok ? 0 : 1;
    }

    /// <summary><c>credits grant</c> or <c>credits adjust</c> (<paramref name="kind"/>).</summary>
    public static int MoveCredits(Store store, string kind, string name, long amount, string? note, string? actor, TextWriter output, TextWriter error)
    {
        note ??= kind == CreditMoves.Grant ? "granted from the command line" : null;
        if (actor is not null && string.IsNullOrWhiteSpace(actor))
        {
            throw new UsageException("--actor needs a value");
        }
        try
        {
            // Bad input is a usage error (exit 2), before the store is touched.
            CreditMoves.Validate(kind, amount, note);
        }
        catch (CreditMoveException ex)
        {
            throw new UsageException(ex.Message);
        }
        CreditMove move;
        try
        {
            move = store.Write(c => CreditMoves.Apply(c, name, kind, amount, note, actor ?? OsUser()));
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

    public static int ShowCredits(Store store, string name, TextWriter output, TextWriter error)
    {
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

    public static int ApplyCatalog(Config.BootstrapConfig bootstrap, Store store, HandlerRegistry handlers, string file, TextWriter output, TextWriter error)
    {
        if (!File.Exists(file))
        {
            error.WriteLine($"{file}: no such file");
            return 1;
        }
        var document = CatalogDocument.ReadYaml(File.ReadAllText(file), out var yamlError);
        var parsed = yamlError is not null
            ? new CatalogDocument.Parsed([], [], [], [yamlError])
            : store.Write(c => CatalogEdits.Apply(c, handlers.Ids, document, handlers.CheckParams));
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
    }

    public static int ExportCatalog(Store store, TextWriter output)
    {
        using var connection = store.Open();
        output.Write(CatalogDocument.Export(CatalogStore.Load(connection)));
        return 0;
    }

    /// <summary>
    /// Lists stored offers that are not live because their params still name a URL or a key
    /// variable (stored before endpoint profiles), with what to do; exit 1 when there are any.
    /// </summary>
    public static int CheckCatalog(Config.BootstrapConfig bootstrap, Store store, HandlerRegistry handlers, TextWriter output)
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
