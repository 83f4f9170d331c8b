using System.Globalization;
using System.Text.Json.Nodes;
using Switchboard.Storage;
using YamlDotNet.Core;

namespace Switchboard.Config;

/// <summary>A bootstrap config that cannot be used; the message names the file, the place and the key.</summary>
public sealed class BootstrapException(string message) : ArgumentException(message);

/// <summary>
/// The bootstrap config (<c>--config FILE</c>, SPEC.md §6): where the store and the queue are.
/// Without one, a process runs on the embedded default (SQLite in <c>--data DIR</c>, in-process
/// queue). The whole document is kept in <see cref="Document"/> so later settings (config ids,
/// Fernet keys) read from the same place.
/// </summary>
public sealed record BootstrapConfig(
    StoreKind Source, string SqlitePath, string? PostgresUri, string? RedisUri, string RedisPrefix, string? FilePath, JsonObject Document)
{
    public const string DefaultRedisPrefix = "switchboard";

    /// <summary>The embedded default for a data folder: no file, no Redis.</summary>
    public static BootstrapConfig Embedded(string dataDir) =>
        new(StoreKind.Sqlite, Path.Combine(dataDir, "switchboard.db"), null, null, DefaultRedisPrefix, null, []);

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
        return new BootstrapConfig(source, sqlitePath, postgresUri, string.IsNullOrWhiteSpace(redisUri) ? null : redisUri, prefix, path, document);
    }

    /// <summary>Opens the store this config names.</summary>
    public Store OpenStore(string synchronous = "FULL") => Source switch
    {
        StoreKind.Postgres => new PostgresStore(PostgresUri!),
        _ => new SqliteStore(SqlitePath, synchronous),
    };
}
