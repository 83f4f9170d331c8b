using System.Data.Common;

namespace Switchboard.Storage;

/// <summary>
/// Brings a store to <see cref="Migrations.Latest"/>: each step it lacks runs once, in order, and
/// is recorded in <c>schema_migrations</c> by its number, all in one transaction. How processes
/// that start at once are kept from applying a step twice is the one thing each store does its
/// own way, side by side below.
/// <para>
/// A store newer than this build (an older process starting after a newer one migrated, in a
/// rolling upgrade or a rollback) is run on as it is: steps are additive (new tables, columns
/// with defaults, indexes), so what this build reads and writes is still there. Only a step
/// marked breaking (<see cref="Migrations.Breaking"/>) records, in <c>meta</c>, the oldest
/// schema a build must know to run on the store (<see cref="CompatibleFrom"/>); a build older
/// than that refuses to start.
/// </para>
/// </summary>
public static class MigrationRunner
{
    // Any constant, the same in every process: the PostgreSQL lock that serializes migrations.
    private const long MigrationLock = 0x5357_4254_4348;

    /// <summary>The <c>meta</c> key a breaking step sets to its number: builds whose <see cref="Migrations.Latest"/> is lower refuse the store.</summary>
    public const string CompatibleFrom = "schema_compatible_from";

    /// <summary>Migrates the store; returns the schema version it had (above <see cref="Migrations.Latest"/>: a newer build's store, run on as it is).</summary>
    /// <exception cref="InvalidOperationException">The store was migrated by a breaking step this build does not know.</exception>
    public static long Apply(Store store)
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
                return sqlite.Write(connection => ApplyMissing(connection, store));
            case PostgresStore postgres:
                using (var connection = postgres.Open())
                using (var transaction = connection.BeginTransaction())
                {
                    connection.Execute("SELECT pg_advisory_xact_lock(@lock)", ("@lock", MigrationLock));
                    var found = ApplyMissing(connection, store);
                    transaction.Commit();
                    return found;
                }
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
            var compatibleFrom = connection.Scalar<long?>("SELECT value FROM meta WHERE key = @k", ("@k", CompatibleFrom)) ?? 0;
            if (compatibleFrom > Migrations.Latest)
            {
                throw new InvalidOperationException(
                    $"The database at {store.Description} has schema version {current}, and its step {compatibleFrom} changed it in a way builds before it cannot run on; this build knows steps up to {Migrations.Latest}. Run a build that knows step {compatibleFrom} or later (docs/operations.md, \"Upgrading\").");
            }
            return current;
        }
        for (var version = (int)current + 1; version <= Migrations.Latest; version++)
        {
            SqlExtensions.Exec(connection, Migrations.Step(version, store.Kind));
            connection.Execute("INSERT INTO schema_migrations (version, applied_at) VALUES (@v, @t)", ("@v", version), ("@t", Clock.NowMs()));
            if (Migrations.Breaking.Contains(version))
            {
                connection.Execute("DELETE FROM meta WHERE key = @k", ("@k", CompatibleFrom));
                connection.Execute("INSERT INTO meta (key, value) VALUES (@k, @v)", ("@k", CompatibleFrom), ("@v", (long)version));
            }
        }
        return current;
    }
}
