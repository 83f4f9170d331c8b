using System.Text.Json;
using Switchboard.Config;
using Switchboard.Handlers;

namespace Switchboard.Cli;

/// <summary>
/// What <c>switchboard config …</c> does (<see cref="Commands.ConfigCommand"/> parses it): app
/// configs in the store, every version kept (SPEC.md §6). Running processes follow the active
/// version within a poll interval.
/// </summary>
public static class ConfigCommands
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    private static ConfigStore Configs(StoreAccess access) => new(access.Store, access.Bootstrap.ConfigTable);

    public record PushOptions(string File, string Id, string? Version, string? Comment, string? Author, bool Encrypted, bool Inactive);

    public static int Push(StoreAccess access, HandlerRegistry handlers, PushOptions push, TextWriter output, TextWriter error)
    {
        var (bootstrap, file) = (access.Bootstrap, push.File);
        var id = ConfigStore.CheckId(push.Id);
        var version = push.Version is { } v ? ConfigStore.CheckVersion(v) : null;
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"{file}: cannot read it ({ex.Message})");
            return 1;
        }
        string stored;
        if (push.Encrypted)
        {
            ConfigProtocol.CheckSealed(text, file, id, bootstrap.Keys());
            stored = text;
        }
        else
        {
            stored = ConfigProtocol.Seal(text, file, id, bootstrap.Keys(create: true));
        }
        var (values, secrets, problems) = ConfigPushChecks.Check(id, stored, file, bootstrap.Keys());
        if (problems.Count > 0)
        {
            problems.ForEach(p => error.WriteLine($"{file}: {p}"));
            error.WriteLine($"{file}: not pushed ({problems.Count} problem(s))");
            return 1;
        }
        if (id == ServiceMap.Id)
        {
            var unknown = ServiceMap.Read(values, []).Installed?.Where(n => !handlers.Ids.Any(h => h == n || h.StartsWith(n + ".", StringComparison.Ordinal)));
            foreach (var name in unknown ?? [])
            {
                error.WriteLine($"{file}: warning: this build has no handler '{name}' (its handlers: {string.Join(", ", handlers.Ids.Order())})");
            }
        }
        var pushed = Configs(access).Push(id, version, stored, push.Author ?? Author(), push.Comment, activate: !push.Inactive);
        output.WriteLine(new JsonObject
        {
            ["id"] = pushed.Id,
            ["version"] = pushed.Version,
            ["active"] = pushed.Active,
            ["hash"] = pushed.Hash,
            ["secrets"] = secrets,
        }.ToJsonString(Json));
        return 0;
    }

    private static string Author() => Environment.UserName is { Length: > 0 } name ? name : "unknown";

    public static int List(StoreAccess access, string? id, TextWriter output)
    {
        foreach (var config in Configs(access).List(id))
        {
            output.WriteLine(new JsonObject
            {
                ["id"] = config.Id,
                ["version"] = config.Version,
                ["active"] = config.Active,
                ["created_at"] = Clock.Iso(config.CreatedAt),
                ["author"] = config.Author,
                ["comment"] = config.Comment,
                ["hash"] = config.Hash,
            }.ToJsonString(Json));
        }
        return 0;
    }

    private static ConfigVersion? Find(ConfigStore configs, string id, string? version, TextWriter error)
    {
        var config = configs.Get(id, version);
        if (config is null)
        {
            error.WriteLine(version is null ? $"config '{id}' has no active version" : $"config '{id}' has no version {version}");
        }
        return config;
    }

    public static int Show(StoreAccess access, string id, string? version, bool reveal, TextWriter output, TextWriter error)
    {
        if (Find(Configs(access), id, version, error) is not { } config)
        {
            return 1;
        }
        output.Write(ConfigProtocol.Show(config.Content, ConfigDiff.Source(config), id, reveal ? access.Bootstrap.Keys() : null, reveal));
        return 0;
    }

    public static int Pull(StoreAccess access, string id, string? version, TextWriter output, TextWriter error)
    {
        if (Find(Configs(access), id, version, error) is not { } config)
        {
            return 1;
        }
        output.Write(config.Content);
        return 0;
    }

    public static int Rollback(StoreAccess access, string id, string version, string? author, TextWriter output, TextWriter error)
    {
        if (!Configs(access).Activate(id, version, author ?? Author()))
        {
            error.WriteLine($"config '{id}' has no version {version}");
            return 1;
        }
        output.WriteLine(new JsonObject { ["id"] = id, ["version"] = version, ["active"] = true }.ToJsonString(Json));
        return 0;
    }

    public static int RotateKey(StoreAccess access, TextWriter output)
    {
        var (bootstrap, configs, store) = (access.Bootstrap, Configs(access), access.Store);
        var keys = bootstrap.Keys() ?? throw new ConfigException("no fernet_key or fernet_keys in the bootstrap config: nothing to rotate to");
        var versions = 0;
        var rewritten = configs.RewriteAll(config =>
        {
            versions++;
            return ConfigProtocol.Rotate(config.Content, ConfigDiff.Source(config), config.Id, keys);
        });
        var panelKeys = Admin.Panel.PanelKeyRing.Reseal(store, keys);
        output.WriteLine(new JsonObject { ["versions"] = versions, ["rewritten"] = rewritten, ["panel_keys"] = panelKeys }.ToJsonString(Json));
        return 0;
    }

    /// <summary>Differences by key path (<see cref="ConfigDiff"/>): secrets never shown, only whether they changed.</summary>
    public static int Diff(StoreAccess access, string id, string from, string to, TextWriter output, TextWriter error)
    {
        var configs = Configs(access);
        if (Find(configs, id, from, error) is not { } a || Find(configs, id, to, error) is not { } b)
        {
            return 1;
        }
        output.WriteLine($"--- {id}@{from}");
        output.WriteLine($"+++ {id}@{to}");
        foreach (var line in ConfigDiff.Compute(a, b, access.Bootstrap.Keys()))
        {
            output.WriteLine(line.Text);
        }
        return 0;
    }
}
