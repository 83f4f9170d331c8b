using System.Data.Common;
using Npgsql;
using Switchboard.Config;
using Switchboard.Storage;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A store of its own per test, on either backend, with a folder for files (catalogs, logs,
/// the bootstrap config): SQLite in that folder, or a fresh database on the PostgreSQL server
/// test.sh started (dropped afterwards). Optionally with the Redis queue, under a key prefix of
/// its own. Tests pass it wherever a process is started (CLI, in-memory host, real process).
/// </summary>
public sealed class TestStore : IAsyncDisposable
{
    private readonly string? _database;
    private Store? _store;

    private TestStore(StoreKind kind, bool redis, string? redisUri)
    {
        Kind = kind;
        Directory.CreateDirectory(Path);
        redis |= redisUri is not null;
        if (kind == StoreKind.Postgres)
        {
            _database = "t_" + Guid.NewGuid().ToString("N")[..16];
            using (var admin = new NpgsqlConnection(TestServices.PostgresAdmin))
            {
                admin.Open();
                SqlExtensions.Exec(admin, $"CREATE DATABASE {_database}");
            }
            var uri = new NpgsqlConnectionStringBuilder(TestServices.PostgresAdmin) { Database = _database, MaxPoolSize = 30 }.ConnectionString;
            _source = "source: postgres";
            _lines.Add($"postgres: {{uri: '{uri}'}}");
        }
        else
        {
            _source = "source: sqlite";
            _lines.Add($"sqlite: {{path: '{System.IO.Path.Combine(Path, "switchboard.db")}'}}");
        }
        if (redis)
        {
            RedisPrefix = "t" + Guid.NewGuid().ToString("N")[..12];
            _lines.Add($"redis: {{uri: '{redisUri ?? TestServices.Redis}', prefix: {RedisPrefix}}}");
        }
        if (kind == StoreKind.Sqlite && !redis)
        {
            // The embedded default: no bootstrap file (one can still be written for the same file).
            ProcessArgs = ["--data", Path];
            return;
        }
        ConfigPath = WriteBootstrap("switchboard.yaml");
        ProcessArgs = ["--config", ConfigPath];
    }

    private readonly string _source = "source: sqlite";
    private readonly List<string> _lines = ["version: 1.0"];

    /// <summary>
    /// Writes another bootstrap file for the same store (and Redis prefix) with more in it:
    /// <paramref name="meta"/> goes inside the <c>meta</c> mapping (<c>ids: {api: 1.0}</c>),
    /// <paramref name="lines"/> at the top level (<c>fernet_key: …</c>). Returns its path.
    /// </summary>
    public string WriteBootstrap(string fileName, string meta = "", params string[] lines)
    {
        var path = System.IO.Path.Combine(Path, fileName);
        File.WriteAllLines(path, [.. _lines, $"meta: {{{_source}{(meta.Length > 0 ? ", " + meta : "")}}}", .. lines]);
        return path;
    }
    /// <param name="redis">With the Redis queue on the suite's Redis (or on <paramref name="redisUri"/>).</param>
    public static TestStore Create(StoreKind kind, bool redis = false, string? redisUri = null) => new(kind, redis, redisUri);

    public StoreKind Kind { get; }

    /// <summary>The test's folder.</summary>
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "switchboard-tests", Guid.NewGuid().ToString("N")[..12]);

    /// <summary>The bootstrap config file, when the store is not the embedded default.</summary>
    public string? ConfigPath { get; }

    public string? RedisPrefix { get; }

    /// <summary>The PostgreSQL database of this test, when on PostgreSQL.</summary>
    public string? DatabaseName => _database;

    /// <summary>What a command line adds to reach this store: <c>--data DIR</c> or <c>--config FILE</c>.</summary>
    public string[] ProcessArgs { get; }

    /// <summary>The same as configuration settings, for an in-memory host.</summary>
    public Dictionary<string, string?> Settings => ConfigPath is null
        ? new() { ["Switchboard:DataDir"] = Path }
        : new() { ["Switchboard:Config"] = ConfigPath };

    /// <summary>The store itself, for assertions and direct writes.</summary>
    public Store Store => _store ??= Open();

    private Store Open()
    {
        var store = (ConfigPath is null ? BootstrapConfig.Embedded(Path) : BootstrapConfig.Load(ConfigPath)).OpenStore();
        store.Migrate();
        return store;
    }

    public T Query<T>(Func<DbConnection, T> read)
    {
        using var connection = Store.Open();
        return read(connection);
    }

    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
        if (_database is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var admin = new NpgsqlConnection(TestServices.PostgresAdmin);
            await admin.OpenAsync();
            SqlExtensions.Exec(admin, $"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
        }
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A process of the test may still hold a file open; the temp folder is cleaned eventually.
        }
    }
}
