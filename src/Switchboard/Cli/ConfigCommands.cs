using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Config;
using Switchboard.Handlers;
using Switchboard.Storage;

namespace Switchboard.Cli;

/// <summary>
/// <c>switchboard config …</c>: app configs in the store, every version kept (SPEC.md §6). The
/// commands write to the store directly; running processes follow the active version within a
/// poll interval.
/// </summary>
public static class ConfigCommands
{
    public const string Usage = """
          config push FILE --id ID [--version V] [--comment C] [--author A] [--encrypted] [--inactive]
          config list [ID] | config show ID [--version V] [--reveal] | config pull ID [--version V]
          config diff ID V1 V2 | config rollback ID --to V [--author A] | config rotate-key
          keygen                                          prints a new Fernet key
        """;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static int Run(Args args, BootstrapConfig bootstrap, Store store, HandlerRegistry handlers, TextWriter output, TextWriter error)
    {
        var configs = new ConfigStore(store, bootstrap.ConfigTable);
        return args.Word(1, "subcommand (push, list, show, pull, diff, rollback, rotate-key)") switch
        {
            "push" => Push(args, bootstrap, configs, handlers, output, error),
            "list" => List(args, configs, output),
            "show" => Show(args, bootstrap, configs, output, error),
            "pull" => Pull(args, configs, output, error),
            "diff" => Diff(args, bootstrap, configs, output, error),
            "rollback" => Rollback(args, configs, output, error),
            "rotate-key" => RotateKey(bootstrap, configs, store, output),
            var other => throw new UsageException($"config has no subcommand '{other}'"),
        };
    }

    private static int Push(Args args, BootstrapConfig bootstrap, ConfigStore configs, HandlerRegistry handlers, TextWriter output, TextWriter error)
    {
        var file = args.Word(2, "config file");
        var id = ConfigStore.CheckId(args.Option("id") ?? throw new UsageException("config push needs --id ID"));
        var version = args.Option("version") is { } v ? ConfigStore.CheckVersion(v) : null;
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
        if (args.Has("encrypted"))
        {
            ConfigProtocol.CheckSealed(text, file, id, bootstrap.Keys());
            stored = text;
        }
        else
        {
            stored = ConfigProtocol.Seal(text, file, id, bootstrap.Keys(create: true));
        }
        // Checked with its secrets open when this process has the keys (so a ~webhook that is
        // not a URL is refused now, not when a process loads it); masked otherwise. The checks
        // name a bad secret's path, never its value.
        var keys = bootstrap.Keys();
        var reading = new ConfigProtocol.Reading(id, keys, mask: keys is null, keepEnv: true);
        var values = ConfigProtocol.Unwrap(id, ConfigProtocol.Load(stored, file, reading));
        var problems = AppConfigs.Validate(id, values);
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
        var pushed = configs.Push(id, version, stored, args.Option("author") ?? Author(), args.Option("comment"), activate: !args.Has("inactive"));
        output.WriteLine(new JsonObject
        {
            ["id"] = pushed.Id,
            ["version"] = pushed.Version,
            ["active"] = pushed.Active,
            ["hash"] = pushed.Hash,
            ["secrets"] = reading.SecretPaths.Count,
        }.ToJsonString(Json));
        return 0;
    }

    private static string Author() => Environment.UserName is { Length: > 0 } name ? name : "unknown";

    private static int List(Args args, ConfigStore configs, TextWriter output)
    {
        foreach (var config in configs.List(args.Positional.Count > 2 ? args.Positional[2] : null))
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

    private static int Show(Args args, BootstrapConfig bootstrap, ConfigStore configs, TextWriter output, TextWriter error)
    {
        var id = args.Word(2, "config id");
        if (Find(configs, id, args.Option("version"), error) is not { } config)
        {
            return 1;
        }
        var reveal = args.Has("reveal");
        output.Write(ConfigProtocol.Show(config.Content, ConfigDiff.Source(config), id, reveal ? bootstrap.Keys() : null, reveal));
        return 0;
    }

    private static int Pull(Args args, ConfigStore configs, TextWriter output, TextWriter error)
    {
        var id = args.Word(2, "config id");
        if (Find(configs, id, args.Option("version"), error) is not { } config)
        {
            return 1;
        }
        output.Write(config.Content);
        return 0;
    }

    private static int Rollback(Args args, ConfigStore configs, TextWriter output, TextWriter error)
    {
        var id = args.Word(2, "config id");
        var version = args.Option("to") ?? throw new UsageException("config rollback needs --to VERSION");
        if (!configs.Activate(id, version, args.Option("author") ?? Author()))
        {
            error.WriteLine($"config '{id}' has no version {version}");
            return 1;
        }
        output.WriteLine(new JsonObject { ["id"] = id, ["version"] = version, ["active"] = true }.ToJsonString(Json));
        return 0;
    }

    private static int RotateKey(BootstrapConfig bootstrap, ConfigStore configs, Store store, TextWriter output)
    {
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
    private static int Diff(Args args, BootstrapConfig bootstrap, ConfigStore configs, TextWriter output, TextWriter error)
    {
        var id = args.Word(2, "config id");
        var (from, to) = (args.Word(3, "first version"), args.Word(4, "second version"));
        if (Find(configs, id, from, error) is not { } a || Find(configs, id, to, error) is not { } b)
        {
            return 1;
        }
        output.WriteLine($"--- {id}@{from}");
        output.WriteLine($"+++ {id}@{to}");
        foreach (var line in ConfigDiff.Compute(a, b, bootstrap.Keys()))
        {
            output.WriteLine(line.Text);
        }
        return 0;
    }

    public static int KeyGen(TextWriter output)
    {
        output.WriteLine(Fernet.GenerateKey());
        return 0;
    }
}
