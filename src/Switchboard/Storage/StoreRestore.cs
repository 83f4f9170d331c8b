using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Switchboard.Storage;

/// <summary>What a restore did: the backup's facts, the version it was migrated to, where the previous database went.</summary>
public sealed record RestoreReport(BackupFacts Backup, int MigratedTo, string? Previous);

/// <summary>
/// <c>switchboard restore</c>: puts a backup in place of the embedded store, in a data folder no
/// server runs on. Everything that can refuse runs before anything is replaced: the folder's
/// exclusive lock (<see cref="DataFolderLock"/>: refused while any server holds it), then the
/// backup is copied beside the database and the copy checked (header, integrity, a schema
/// version this build can read). Only then is the previous database moved aside, whole, and the
/// copy renamed into its place; the store is migrated up as a server's start would.
/// </summary>
public static class StoreRestore
{
    public const string PreviousSuffix = ".before-restore-";

    /// <summary>
    /// Restores <paramref name="backup"/> as <paramref name="database"/>. Throws
    /// <see cref="BackupException"/> or <see cref="DataFolderInUseException"/> with nothing
    /// replaced.
    /// </summary>
    public static RestoreReport Restore(string database, string backup, DateTimeOffset now)
    {
        database = Path.GetFullPath(database);
        backup = Path.GetFullPath(backup);
        if (!File.Exists(backup))
        {
            throw new BackupException($"there is no file {backup}");
        }
        if (StoreBackup.SqliteFiles(database).Contains(backup, StringComparer.Ordinal))
        {
            throw new BackupException($"{backup} is the store itself: restore from a backup (switchboard backup FILE)");
        }
        if (!StoreBackup.HasSqliteHeader(backup))
        {
            throw new BackupException($"{backup} is not a SQLite database (no SQLite header): not a Switchboard backup");
        }
        // Held until the restored store is migrated: no server starts on a half-restored folder.
        using var hold = DataFolderLock.Acquire(Path.GetDirectoryName(database)!, exclusive: true, $"switchboard restore of {backup}");
        var temporary = $"{database}.restoring-{Environment.ProcessId}";
        try
        {
            // The copy is what is checked and renamed into place: the backup file may change
            // meanwhile, what was checked cannot.
            StoreBackup.CreatePrivate(temporary);
            using (var from = File.OpenRead(backup))
            using (var to = new FileStream(temporary, FileMode.Open, FileAccess.Write))
            {
                from.CopyTo(to);
                to.Flush(flushToDisk: true);
            }
            var facts = CheckCopy(temporary, backup);
            var previous = MoveAside(database, now);
            File.Move(temporary, database);
            return new RestoreReport(facts, Migrate(database), previous);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new BackupException($"cannot restore into {Path.GetDirectoryName(database)}: {ex.Message}");
        }
        finally
        {
            StoreBackup.DeleteAll(temporary);
        }
    }

    private static BackupFacts CheckCopy(string copy, string backup)
    {
        BackupFacts facts;
        try
        {
            facts = StoreBackup.Check(copy);
        }
        catch (SqliteException ex)
        {
            throw new BackupException($"{backup} is not a usable SQLite database: {ex.Message}");
        }
        catch (BackupException ex)
        {
            // The message names the copy; the operator knows the backup.
            throw new BackupException(ex.Message.Replace(copy, backup, StringComparison.Ordinal));
        }
        if (facts.SchemaVersion > Migrations.Latest)
        {
            throw new BackupException($"{backup} has schema version {facts.SchemaVersion}, newer than this build's {Migrations.Latest}: restore it with the build that made it, or a newer one");
        }
        return facts;
    }

    /// <summary>
    /// Moves the previous database, with its <c>-wal</c> (commits not yet checkpointed into the
    /// file), to <c>NAME.before-restore-TIME</c>: SQLite finds a WAL by the database's name, so the
    /// pair stays a whole database. Its <c>-shm</c> is only an index of that WAL, rebuilt on open:
    /// deleted. None of the three stays where the restored file goes: a stale WAL beside it would
    /// be replayed into it. Returns the new name, or null when there was no database.
    /// </summary>
    private static string? MoveAside(string database, DateTimeOffset now)
    {
        var previous = database + PreviousSuffix + now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var present = File.Exists(database) || File.Exists(database + "-wal");
        if (!present)
        {
            File.Delete(database + "-shm");
            return null;
        }
        if (StoreBackup.SqliteFiles(previous).Any(File.Exists))
        {
            throw new BackupException($"{previous} exists (a restore in the same second?): move it away and run the restore again");
        }
        if (File.Exists(database + "-wal"))
        {
            File.Move(database + "-wal", previous + "-wal");
        }
        File.Delete(database + "-shm");
        if (File.Exists(database))
        {
            File.Move(database, previous);
        }
        return previous;
    }

    /// <summary>Brings the restored store to this build's schema, as a server's start would; returns the version.</summary>
    private static int Migrate(string database)
    {
        var store = new SqliteStore(database);
        try
        {
            store.Migrate();
            using var connection = store.Open();
            var version = (int)connection.Scalar<long>("SELECT MAX(version) FROM schema_migrations");
            // Closes this process's pooled connections to the file before the lock is released.
            SqliteConnection.ClearPool((SqliteConnection)connection);
            return version;
        }
        finally
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
