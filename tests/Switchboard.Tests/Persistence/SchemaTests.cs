using System.Data.Common;
using System.Text;
using Switchboard.Config;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;
using Switchboard.Tests.OpenApi;

namespace Switchboard.Tests.Persistence;

/// <summary>
/// A fresh store's schema, as the store itself reports it, equals the one checked in under
/// Persistence/Schema/ for its kind: the migrations are written once for both stores, so a change
/// meant for one that also moves the other (or an edit of a shipped step) shows here. After adding
/// a migration on purpose, run this class with SWITCHBOARD_ACCEPT_SCHEMA=1 to rewrite the files,
/// and review their diff.
/// </summary>
public abstract class SchemaTests(StoreKind kind)
{
    [Fact]
    public async Task AFreshStoreHasTheCheckedInSchema()
    {
        await using var store = TestStore.Create(kind, empty: true);

        var actual = store.Query(c => Schema(kind, c));

        var file = ExpectedFile(kind);
        if (Environment.GetEnvironmentVariable("SWITCHBOARD_ACCEPT_SCHEMA") == "1")
        {
            await File.WriteAllTextAsync(file, actual);
        }
        Assert.Equal(await File.ReadAllTextAsync(file), actual);
    }

    /// <summary>
    /// A deployment of an older build keeps its recorded versions: the next start applies only the
    /// steps after them, and the store ends up as a fresh one.
    /// </summary>
    [Fact]
    public async Task AStoreOfAnOlderBuildGetsOnlyTheStepsItLacks()
    {
        const int older = 6;
        await using var test = TestStore.Create(kind, empty: true);
        await using (var store = kind == StoreKind.Sqlite
            ? new SqliteStore(Path.Combine(test.Path, "switchboard.db"))
            : (Store)new PostgresStore(BootstrapConfig.Load(test.ConfigPath!).PostgresUri!))
        {
            if (store is SqliteStore)
            {
                using var connection = store.Open();
                SqlExtensions.Exec(connection, "PRAGMA journal_mode=WAL;");
            }
            // What a build of six steps left behind, each recorded with its number as its time.
            store.Write(c =>
            {
                c.Execute($"CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at {Migrations.Dialect.Of(kind).BigInt} NOT NULL)");
                for (var version = 1; version <= older; version++)
                {
                    SqlExtensions.Exec(c, Migrations.Step(version, kind));
                    c.Execute("INSERT INTO schema_migrations (version, applied_at) VALUES (@v, @v)", ("@v", version));
                }
                return 0;
            });
        }

        var actual = test.Query(c => Schema(kind, c));

        Assert.Equal(await File.ReadAllTextAsync(ExpectedFile(kind)), actual);
        var appliedAt = test.Query(c => c.Scalar<string>($"SELECT {(kind == StoreKind.Sqlite ? "group_concat(applied_at, ',')" : "string_agg(applied_at::text, ',' ORDER BY version)")} FROM schema_migrations WHERE version <= {older}"));
        Assert.Equal("1,2,3,4,5,6", appliedAt);
    }

    private static string ExpectedFile(StoreKind kind) =>
        Path.Combine(OpenApiClientTests.RepoRoot(), "tests", "Switchboard.Tests", "Persistence", "Schema", $"{kind.ToString().ToLowerInvariant()}.txt");

    private static string Schema(StoreKind kind, DbConnection connection) => kind == StoreKind.Sqlite ? SqliteSchema(connection) : PostgresSchema(connection);

    /// <summary>SQLite keeps each object's CREATE text as written (ALTERs edit it): compared byte for byte.</summary>
    private static string SqliteSchema(DbConnection connection)
    {
        var text = new StringBuilder();
        text.Append("journal_mode: ").Append(connection.Scalar<string>("PRAGMA journal_mode")).Append("\n\n");
        Rows(connection, text, "SELECT type, name, tbl_name, COALESCE(sql, '(implicit)') FROM sqlite_master ORDER BY type, name");
        Seeded(connection, text);
        return text.ToString();
    }

    /// <summary>PostgreSQL normalizes what it keeps: its catalog's own rendering of every object.</summary>
    private static string PostgresSchema(DbConnection connection)
    {
        var text = new StringBuilder();
        Rows(connection, text, """
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull::text, a.attidentity::text, COALESCE(pg_get_expr(d.adbin, d.adrelid), '')
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY c.relname, a.attnum
            """);
        Rows(connection, text, """
            SELECT c.relname, con.conname, pg_get_constraintdef(con.oid)
            FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = con.connamespace
            WHERE n.nspname = 'public' ORDER BY c.relname, con.conname
            """);
        Rows(connection, text, "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY tablename, indexname");
        Rows(connection, text, "SELECT sequencename, data_type::text, start_value::text, increment_by::text FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename");
        Rows(connection, text, """
            SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid)
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND NOT t.tgisinternal ORDER BY c.relname, t.tgname
            """);
        Rows(connection, text, """
            SELECT p.proname, pg_get_functiondef(p.oid)
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' ORDER BY p.proname
            """);
        Seeded(connection, text);
        return text.ToString();
    }

    /// <summary>The rows the migrations insert, and the versions they record.</summary>
    private static void Seeded(DbConnection connection, StringBuilder text)
    {
        Rows(connection, text, "SELECT key, CAST(value AS TEXT) FROM meta ORDER BY key");
        Rows(connection, text, "SELECT CAST(version AS TEXT) FROM schema_migrations ORDER BY version");
    }

    private static void Rows(DbConnection connection, StringBuilder text, string sql)
    {
        using var command = connection.Sql(sql);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            for (var i = 0; i < reader.FieldCount; i++)
            {
                text.Append(i == 0 ? "" : " | ").Append(reader.GetString(i));
            }
            text.Append('\n');
        }
        text.Append('\n');
    }
}

public sealed class SchemaOnSqlite() : SchemaTests(StoreKind.Sqlite);

public sealed class SchemaOnPostgres() : SchemaTests(StoreKind.Postgres);
