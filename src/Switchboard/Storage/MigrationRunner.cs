using System.Data.Common;

namespace Switchboard.Storage;

/// <summary>
/// Brings a store to <see cref="Migrations.Latest"/>: each step it lacks runs once, in order, and
/// is recorded in <c>schema_migrations</c> by its number, all in one transaction. How processes
/// that start at once are kept from applying a step twice is the one thing each store does its
/// own way, side by side below.
/// </summary>
public static class MigrationRunner
{
    // Any constant, the same in every process: the PostgreSQL lock that serializes migrations.
    private const long MigrationLock = 0x5357_4254_4348;

    public static void Apply(Store store)
    {
        switch (store)
        {
            case SqliteStore sqlite:
                using (var connection = sqlite.Open())
                {
                    // WAL is a property of the file: set once, every later connection inherits it.
                    // (It cannot be changed inside a transaction, hence its own connection.)
                    SqlExtensions.Exec(connection, "PRAGMA journal_mode=WAL;");
                }
                // The writer's immediate transaction: a second process waits for the file's write lock.
                sqlite.Write(connection => ApplyMissing(connection, store));
                break;
            case PostgresStore postgres:
                using (var connection = postgres.Open())
                using (var transaction = connection.BeginTransaction())
                {
                    connection.Execute("SELECT pg_advisory_xact_lock(@lock)", ("@lock", MigrationLock));
                    ApplyMissing(connection, store);
                    transaction.Commit();
                }
                break;
            default:
                throw new NotSupportedException(store.GetType().Name);
        }
    }

    private static long ApplyMissing(DbConnection connection, Store store)
    {
        var bigint = Migrations.Dialect.Of(store.Kind).BigInt;
        connection.Execute($"CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at {bigint} NOT NULL)");
        var current = connection.Scalar<long?>("SELECT MAX(version) FROM schema_migrations") ?? 0;
        if (current > Migrations.Latest)
        {
            throw new InvalidOperationException($"The database at {store.Description} has schema version {current}, newer than this build ({Migrations.Latest}).");
        }
        for (var version = (int)current + 1; version <= Migrations.Latest; version++)
        {
            SqlExtensions.Exec(connection, Migrations.Step(version, store.Kind));
            connection.Execute("INSERT INTO schema_migrations (version, applied_at) VALUES (@v, @t)", ("@v", version), ("@t", Clock.NowMs()));
        }
        return current;
    }
}
