using System.Globalization;
using YamlDotNet.Core;

namespace Switchboard.Config;

/// <summary>A bootstrap config that cannot be used; the message names the file, the place and the key.</summary>
public sealed class BootstrapException(string message) : ArgumentException(message);

/// <summary>
/// The bootstrap config (<c>--config FILE</c>, SPEC.md §6): where the store and the queue are,
/// which app configs to load (<c>meta.collection</c>, <c>meta.ids</c>) and the Fernet keys that
/// open their <c>~</c> values. Without one, a process runs on the embedded default (SQLite in
/// <c>--data DIR</c>, in-process queue, a key file beside the database).
/// </summary>
public sealed record BootstrapConfig(
    StoreKind Source, string SqlitePath, string? PostgresUri, string? RedisUri, string RedisPrefix, string? FilePath, JsonObject Document)
{
    public const string DefaultRedisPrefix = "switchboard";

    /// <summary>The store's table of app configs (<c>meta.collection</c>).</summary>
    public string ConfigTable { get; init; } = ConfigStore.DefaultTable;

    /// <summary>App config id → version to load (<c>meta.ids</c>); a null version means the active one, followed live.</summary>
    public IReadOnlyDictionary<string, string?> ConfigIds { get; init; } = new Dictionary<string, string?>();

    /// <summary><c>fernet_key</c> or <c>fernet_keys</c>: the first encrypts, all decrypt.</summary>
    public IReadOnlyList<string> FernetKeys { get; init; } = [];

    /// <summary>
    /// Where handler plugins are loaded from: <c>plugins.path</c> (relative to the working
    /// directory, as <c>sqlite.path</c>; it must exist), else <c>./handlers</c> if it exists.
    /// </summary>
    public Handlers.Plugins.PluginFolder Plugins { get; init; } = Handlers.Plugins.PluginFolder.Default;

    /// <summary>The <c>tracing</c> section (OTLP export); null without one (the <c>OTEL_*</c> variables may still turn tracing on).</summary>
    public TracingSettings? Tracing { get; init; }

    /// <summary>The embedded default's key file (created on first need, mode 600) when the bootstrap gives no key.</summary>
    public string? KeyFile { get; init; }

    /// <summary>The embedded default for a data folder: no file, no Redis.</summary>
    public static BootstrapConfig Embedded(string dataDir) =>
        new(StoreKind.Sqlite, Path.Combine(dataDir, "switchboard.db"), null, null, DefaultRedisPrefix, null, [])
        {
            KeyFile = Path.Combine(dataDir, "fernet.key"),
        };

    /// <summary>
    /// The keys that open <c>~</c> values, or null when none are configured. With
    /// <paramref name="create"/>, the embedded default makes its key file if there is none.
    /// </summary>
    public MultiFernet? Keys(bool create = false)
    {
        var keys = FernetKeys;
        if (keys.Count == 0 && KeyFile is not null)
        {
            if (!File.Exists(KeyFile) && create)
            {
                PrivateFiles.CreateFolder(Path.GetDirectoryName(Path.GetFullPath(KeyFile))!);
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = PrivateFiles.FileMode;
                }
                try
                {
                    using var writer = new StreamWriter(KeyFile, System.Text.Encoding.ASCII, options);
                    writer.WriteLine(Fernet.GenerateKey());
                }
                catch (IOException) when (File.Exists(KeyFile))
                {
                    // Another process made it first: use theirs.
                }
            }
            keys = File.Exists(KeyFile)
                ? [.. File.ReadAllLines(KeyFile).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))]
                : [];
        }
        if (keys.Count == 0)
        {
            return null;
        }
        return new MultiFernet([.. keys.Select((k, i) => KeyAt(k, i))]);
    }

    private Fernet KeyAt(string key, int index)
    {
        try
        {
            return new Fernet(key);
        }
        catch (ArgumentException)
        {
            var where = FilePath ?? KeyFile;
            throw new BootstrapException($"{where}: Fernet key {index + 1} is not 32 bytes of url-safe base64 (make one with `switchboard keygen`)");
        }
    }

    /// <summary>The file's config when a path is given, else the embedded default in <paramref name="dataDir"/>.</summary>
    public static BootstrapConfig Resolve(string? path, string dataDir) => string.IsNullOrEmpty(path) ? Embedded(dataDir) : Load(path);

    public static BootstrapConfig Load(string path, Func<string, string?>? environment = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new BootstrapException($"cannot read the config file {path}: {ex.Message}");
        }
        JsonNode? root;
        try
        {
            root = YamlJson.Parse(text, environment);
        }
        catch (YamlException ex)
        {
            throw new BootstrapException($"{path}:{ex.Start.Line}:{ex.Start.Column}: {ex.Message}");
        }
        if (root is not JsonObject document)
        {
            throw new BootstrapException($"{path}: the config must be a YAML mapping");
        }
        return FromDocument(document, path);
    }

    public static BootstrapConfig FromDocument(JsonObject document, string path)
    {
        string Fail(string message) => throw new BootstrapException($"{path}: {message}");
        string? Text(string section, string key)
        {
            var node = document[section];
            if (node is null)
            {
                return null;
            }
            if (node is not JsonObject obj)
            {
                return Fail($"'{section}' must be a mapping");
            }
            return obj[key] switch
            {
                null => null,
                JsonValue v when v.TryGetValue<string>(out var s) => s,
                JsonValue v => v.ToJsonString(),
                _ => Fail($"'{section}.{key}' must be a string"),
            };
        }

        var version = document["version"] switch
        {
            null => Fail("'version' is missing (this build reads version 1.0)"),
            JsonValue v => v.TryGetValue<string>(out var s) ? s : Convert.ToString(v.GetValue<object>(), CultureInfo.InvariantCulture) ?? "",
            _ => Fail("'version' must be a number such as 1.0"),
        };
        if (!double.TryParse(version, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || Math.Floor(number) != 1)
        {
            Fail($"'version' is {version}; this build reads version 1.x");
        }
        var source = (Text("meta", "source") ?? "sqlite").ToLowerInvariant() switch
        {
            "sqlite" => StoreKind.Sqlite,
            "postgres" or "postgresql" => StoreKind.Postgres,
            var other => throw new BootstrapException($"{path}: 'meta.source' is '{other}'; it must be sqlite or postgres"),
        };
        var sqlitePath = Text("sqlite", "path") ?? "./data/switchboard.db";
        var postgresUri = Text("postgres", "uri");
        if (source == StoreKind.Postgres && string.IsNullOrWhiteSpace(postgresUri))
        {
            Fail("'meta.source' is postgres but 'postgres.uri' is missing");
        }
        var redisUri = Text("redis", "uri");
        var prefix = Text("redis", "prefix") ?? DefaultRedisPrefix;
        if (prefix.Length == 0 || prefix.Any(c => c is '{' or '}' or ' '))
        {
            Fail("'redis.prefix' must be a non-empty name without braces or spaces");
        }
        var config = new BootstrapConfig(source, sqlitePath, postgresUri, string.IsNullOrWhiteSpace(redisUri) ? null : redisUri, prefix, path, document)
        {
            ConfigTable = Text("meta", "collection") ?? ConfigStore.DefaultTable,
            ConfigIds = ReadIds(document, Fail),
            FernetKeys = ReadKeys(document, Fail),
            Plugins = Text("plugins", "path") is { } plugins
                ? (plugins.Trim().Length > 0 ? new Handlers.Plugins.PluginFolder(plugins, Named: true) : throw new BootstrapException($"{path}: 'plugins.path' is empty; name a folder or leave the key out"))
                : Handlers.Plugins.PluginFolder.Default,
            Tracing = TracingSettings.Read(document, Fail),
        };
        try
        {
            ConfigStore.CheckTable(config.ConfigTable);
        }
        catch (ConfigException ex)
        {
            Fail(ex.Message);
        }
        config.Keys();
        return config;
    }

    /// <summary><c>meta.ids</c>: id → version; a number keeps its digits (<c>1.0</c>), null or <c>active</c> means the active version.</summary>
    private static Dictionary<string, string?> ReadIds(JsonObject document, Func<string, string> fail)
    {
        var ids = new Dictionary<string, string?>(StringComparer.Ordinal);
        switch ((document["meta"] as JsonObject)?["ids"])
        {
            case null:
                return ids;
            case JsonObject map:
                foreach (var (id, value) in map)
                {
                    var version = value switch
                    {
                        null => null,
                        JsonValue v when v.TryGetValue<string>(out var s) => s,
                        JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.Number => v.ToJsonString(),
                        _ => fail($"'meta.ids.{id}' must be a version such as 1.0 (or active)"),
                    };
                    try
                    {
                        ConfigStore.CheckId(id);
                        ids[id] = version is null or "active" ? null : ConfigStore.CheckVersion(version);
                    }
                    catch (ConfigException ex)
                    {
                        fail($"'meta.ids.{id}': {ex.Message}");
                    }
                }
                return ids;
            default:
                fail("'meta.ids' must be a mapping of config id to version (api: 1.0)");
                return ids;
        }
    }

    /// <summary><c>fernet_key</c> (one) or <c>fernet_keys</c> (a list: the first encrypts, all decrypt).</summary>
    private static List<string> ReadKeys(JsonObject document, Func<string, string> fail)
    {
        static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        var one = document["fernet_key"];
        var many = document["fernet_keys"];
        if (one is not null && many is not null)
        {
            fail("give 'fernet_key' or 'fernet_keys', not both");
        }
        if (one is not null)
        {
            return [Str(one) ?? fail("'fernet_key' must be a string")];
        }
        if (many is null)
        {
            return [];
        }
        if (many is not JsonArray list || list.Count == 0)
        {
            return [fail("'fernet_keys' must be a non-empty list of keys (the first encrypts)")];
        }
        return [.. list.Select((k, i) => Str(k) ?? fail($"'fernet_keys[{i}]' must be a string"))];
    }

    /// <summary>Opens the store this config names.</summary>
    public Store OpenStore(string synchronous = "FULL") => Source switch
    {
        StoreKind.Postgres => new PostgresStore(PostgresUri!),
        _ => new SqliteStore(SqlitePath, synchronous),
    };
}
