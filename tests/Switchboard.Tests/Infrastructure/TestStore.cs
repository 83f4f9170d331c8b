using System.Data.Common;
using Npgsql;
using Switchboard.Config;
using Switchboard.Credits;
using Switchboard.Storage;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A store of its own per test, on either backend, with a folder for files (catalogs, logs,
/// the bootstrap config): SQLite in that folder, or a fresh database on the PostgreSQL server
/// test.sh started (dropped afterwards). Optionally with the Redis queue, under a key prefix of
/// its own. Tests pass it wherever a process is started (CLI, in-memory host, real process).
/// <para>
/// A PostgreSQL database is a copy of <see cref="MigratedTemplate"/>, a database this test run
/// migrated once, unless the test asks for an empty one (the tests of the migrations): running
/// every step again for each of the suite's several hundred databases cost more server CPU
/// than the copy (tests/README.md, "What the suite's time is made of").
/// </para>
/// </summary>
public sealed class TestStore : IAsyncDisposable
{
    private readonly string? _database;
    private readonly bool _copiedFromTemplate;
    private Store? _store;

    private TestStore(StoreKind kind, bool redis, string? redisUri, bool empty)
    {
        Kind = kind;
        Directory.CreateDirectory(Path);
        redis |= redisUri is not null;
        if (kind == StoreKind.Postgres)
        {
            _database = "t_" + Guid.NewGuid().ToString("N")[..16];
            _copiedFromTemplate = !empty;
            using (var admin = new NpgsqlConnection(TestServices.PostgresAdmin))
            {
                admin.Open();
                // FILE_COPY: PostgreSQL 15's default (WAL_LOG) writes the whole template through
                // the WAL, three times the server's CPU of a copy for every test's database.
                SqlExtensions.Exec(admin, $"CREATE DATABASE {_database} TEMPLATE {(empty ? "template1" : MigratedTemplate.Value)} STRATEGY = FILE_COPY");
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
    /// <param name="empty">PostgreSQL: an empty database instead of an already migrated one (for the tests of the migrations; SQLite stores always start empty).</param>
    public static TestStore Create(StoreKind kind, bool redis = false, string? redisUri = null, bool empty = false) => new(kind, redis, redisUri, empty);

    /// <summary>
    /// The name of a PostgreSQL database migrated by this build, made on first use and dropped
    /// when the test process exits (the server is test.sh's, thrown away after the run anyway).
    /// It refuses connections, as <c>CREATE DATABASE … TEMPLATE</c> needs: nobody may be in it
    /// while it is copied. The process id in its name keeps two test runs on one server apart.
    /// </summary>
    private static readonly Lazy<string> MigratedTemplate = new(() =>
    {
        var name = $"t_migrated_{Environment.ProcessId}";
        using var admin = new NpgsqlConnection(TestServices.PostgresAdmin);
        admin.Open();
        DropStaleTemplates(admin);
        // One statement each: PostgreSQL runs neither inside a transaction, nor in a batch.
        SqlExtensions.Exec(admin, $"DROP DATABASE IF EXISTS {name}");
        SqlExtensions.Exec(admin, $"CREATE DATABASE {name} STRATEGY = FILE_COPY");
        var uri = new NpgsqlConnectionStringBuilder(TestServices.PostgresAdmin) { Database = name, Pooling = false }.ConnectionString;
        var store = new PostgresStore(uri);
        try
        {
            store.Migrate();
        }
        finally
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        SqlExtensions.Exec(admin, $"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                using var admin = new NpgsqlConnection(TestServices.PostgresAdmin);
                admin.Open();
                DropTemplate(admin, name);
            }
            catch (NpgsqlException)
            {
                // The server may be gone first (test.sh stops it on exit).
            }
        };
        return name;
    });

    /// <summary>Templates left by test processes that are gone (killed before their exit handler ran).</summary>
    private static void DropStaleTemplates(NpgsqlConnection admin)
    {
        var names = admin.Scalar<string>(@"SELECT string_agg(datname, ' ') FROM pg_database WHERE datname LIKE 't\_migrated\_%'") ?? "";
        foreach (var name in names.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (int.TryParse(name["t_migrated_".Length..], out var pid) && !Directory.Exists($"/proc/{pid}"))
            {
                DropTemplate(admin, name);
            }
        }
    }

    private static void DropTemplate(NpgsqlConnection admin, string name)
    {
        try
        {
            SqlExtensions.Exec(admin, $"ALTER DATABASE {name} WITH IS_TEMPLATE false");
            SqlExtensions.Exec(admin, $"DROP DATABASE IF EXISTS {name}");
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            // Another test process dropped it first.
        }
    }

    public StoreKind Kind { get; }

    /// <summary>The test's folder.</summary>
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "switchboard-tests", Guid.NewGuid().ToString("N")[..12]);

    /// <summary>The bootstrap config file, when the store is not the embedded default.</summary>
    public string? ConfigPath { get; }

    public string? RedisPrefix { get; }

    /// <summary>The PostgreSQL database of this test, when on PostgreSQL.</summary>
    public string? DatabaseName => _database;

    /// <summary>PostgreSQL only: refuses (or allows again) new connections to this test's database, and ends the open ones when refusing: an outage as the processes see it.</summary>
    public void SetConnections(bool allowed)
    {
        using var admin = new NpgsqlConnection(TestServices.PostgresAdmin);
        admin.Open();
        SqlExtensions.Exec(admin, $"ALTER DATABASE {_database} ALLOW_CONNECTIONS {(allowed ? "true" : "false")}");
        if (!allowed)
        {
            SqlExtensions.Exec(admin, $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{_database}'");
        }
    }

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

    /// <summary>
    /// Says this test leaves its store deliberately unauditable (e.g. it breaks the store for
    /// good), with why; without it, every test's store must pass the credits audit when disposed.
    /// </summary>
    public void SkipAuditBecause(string reason) => _skipAuditReason = reason;

    private string? _skipAuditReason;

    /// <summary>Runs <see cref="CreditsAudit"/> on this store, on a fresh connection (retried once after clearing the pools).</summary>
    public AuditReport Audit()
    {
        try
        {
            return AuditOnce();
        }
        catch (DbException)
        {
            // A test may have cut the store off and let it back (StoreOutageTests): pooled
            // connections are then dead; new ones work.
            NpgsqlConnection.ClearAllPools();
            return AuditOnce();
        }
    }

    private AuditReport AuditOnce()
    {
        using var connection = Store.Open();
        return CreditsAudit.Run(connection);
    }

    /// <summary>
    /// Whether the store has a schema to audit (opening the store just for the audit would create
    /// one): a PostgreSQL database copied from the migrated template has it from the start.
    /// </summary>
    private bool HasSchema()
    {
        if (_store is not null || _copiedFromTemplate)
        {
            return true;
        }
        if (_database is null)
        {
            return File.Exists(System.IO.Path.Combine(Path, "switchboard.db"));
        }
        using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(TestServices.PostgresAdmin) { Database = _database, Pooling = false }.ConnectionString);
        connection.Open();
        return connection.Scalar<bool>("SELECT to_regclass('public.ledger') IS NOT NULL");
    }

    /// <summary>
    /// The credits audit runs after every test that wrote a store (before the store is dropped):
    /// a test that leaves a balance off its ledger, a charge twice or a refund missing fails here.
    /// The store is removed either way; the problems are in the exception.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        AuditReport? failed = null;
        Exception? unreachable = null;
        try
        {
            if (_skipAuditReason is null && HasSchema())
            {
                var report = Audit();
                failed = report.Ok ? null : report;
            }
        }
        catch (DbException ex)
        {
            unreachable = ex;
        }
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
        if (unreachable is not null)
        {
            throw new InvalidOperationException(
                $"the credits audit could not reach the {Kind} store after the test (call SkipAuditBecause if the test breaks it on purpose): {unreachable.Message}", unreachable);
        }
        if (failed is not null)
        {
            var shown = failed.Problems.Take(20).Select(p => p.ToJson().ToJsonString());
            throw new InvalidOperationException(
                $"the credits audit failed after the test ({failed.Problems.Count}{(failed.Truncated ? "+" : "")} problem(s)): {string.Join(", ", shown)}"
                + (failed.Problems.Count > 20 ? ", …" : ""));
        }
    }
}
