using Microsoft.Data.Sqlite;

namespace Switchboard.Storage;

/// <summary>A backup that cannot be made or restored; the message says why and nothing was replaced (exit 1).</summary>
public sealed class BackupException(string message) : ArgumentException(message);

/// <summary>What a checked copy of the store holds: its size, schema version and row counts.</summary>
public sealed record BackupFacts(long Bytes, int SchemaVersion, long Requests, long LedgerRows);

/// <summary>
/// <c>switchboard backup</c>: a copy of the embedded SQLite store taken while servers run and
/// write. SQLite's online backup API (<see cref="SqliteConnection.BackupDatabase(SqliteConnection)"/>,
/// one <c>sqlite3_backup_step(-1)</c>) copies the pages of one read snapshot: in WAL mode a
/// reader blocks no writer, so <c>serve</c> keeps committing meanwhile, and the copy is every
/// commit up to the moment it started. Chosen over <c>VACUUM INTO</c>, which would rebuild
/// every table and index in a compact file: the page copy keeps that read snapshot (which holds
/// the WAL checkpointer back) as short as reading the file allows; compacting is VACUUM's job.
/// The copy is checked (<c>PRAGMA integrity_check</c>) and turned into one self-contained file
/// (rollback journal, no <c>-wal</c> to carry along) before it is moved into place.
/// </summary>
public static class StoreBackup
{
    /// <summary>
    /// Copies <paramref name="database"/> into <paramref name="target"/> (refused when it exists,
    /// unless <paramref name="force"/>): written 0600 beside the target, checked, fsynced, then
    /// renamed over it, so the target is either the old file or a whole checked backup.
    /// </summary>
    public static BackupFacts Backup(string database, string target, bool force)
    {
        database = Path.GetFullPath(database);
        target = Path.GetFullPath(target);
        if (!File.Exists(database))
        {
            // Opening it would create an empty store: a "successful" backup of nothing.
            throw new BackupException($"there is no store at {database} (nothing to back up; --data or --config names the store)");
        }
        if (SqliteFiles(database).Contains(target, StringComparer.Ordinal))
        {
            throw new BackupException($"{target} is the store itself: give the backup another name");
        }
        if (Directory.Exists(target))
        {
            throw new BackupException($"{target} is a folder: give the backup a file name");
        }
        if (File.Exists(target) && !force)
        {
            throw new BackupException($"{target} exists: give --force to replace it, or another name");
        }
        var folder = Path.GetDirectoryName(target)!;
        if (!Directory.Exists(folder))
        {
            throw new BackupException($"the folder {folder} does not exist");
        }
        var temporary = $"{target}.tmp-{Environment.ProcessId}";
        try
        {
            CreatePrivate(temporary);
            using (var source = Open(database))
            using (var copy = Open(temporary))
            {
                source.BackupDatabase(copy);
            }
            var facts = Check(temporary);
            Sync(temporary);
            File.Move(temporary, target, overwrite: force);
            return facts;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new BackupException($"cannot write the backup {target}: {ex.Message}");
        }
        catch (SqliteException ex)
        {
            throw new BackupException($"the backup of {database} failed: {ex.Message}");
        }
        finally
        {
            DeleteAll(temporary);
        }
    }

    /// <summary>
    /// Checks a copy of a store and makes it one self-contained file: SQLite's integrity check
    /// passes, <c>schema_migrations</c> names its version, and its journal is a rollback journal
    /// (nothing in a <c>-wal</c> beside it). Throws <see cref="BackupException"/> otherwise.
    /// </summary>
    public static BackupFacts Check(string file)
    {
        using (var connection = Open(file))
        {
            SqlExtensions.Exec(connection, "PRAGMA journal_mode=DELETE;");
            var problems = new List<string>();
            using (var command = connection.CreateCommand())
            {
                // At most 10 problems: enough to say what is wrong with a damaged file.
                command.CommandText = "PRAGMA integrity_check(10)";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    problems.Add(reader.GetString(0));
                }
            }
            if (problems is not ["ok"])
            {
                throw new BackupException($"{file} fails SQLite's integrity check: {string.Join("; ", problems)}");
            }
            if (connection.Scalar<long>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('schema_migrations', 'requests', 'ledger')") != 3)
            {
                throw new BackupException($"{file} is a SQLite database but not a Switchboard store (no schema_migrations, requests and ledger tables)");
            }
            var version = connection.Scalar<long?>("SELECT MAX(version) FROM schema_migrations") ?? 0;
            var facts = new BackupFacts(
                0,
                (int)version,
                connection.Scalar<long>("SELECT COUNT(*) FROM requests"),
                connection.Scalar<long>("SELECT COUNT(*) FROM ledger"));
            connection.Close();
            return facts with { Bytes = new FileInfo(file).Length };
        }
    }

    /// <summary>Whether <paramref name="file"/> starts with SQLite's header (read before SQLite is let near it).</summary>
    public static bool HasSqliteHeader(string file)
    {
        ReadOnlySpan<byte> magic = "SQLite format 3\0"u8;
        Span<byte> head = stackalloc byte[16];
        using var stream = File.OpenRead(file);
        return stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length && head.SequenceEqual(magic);
    }

    /// <summary>
    /// A connection of its own to one file (not pooled: the file is closed when it is disposed,
    /// before it is renamed), which waits for other processes' locks rather than failing.
    /// </summary>
    internal static SqliteConnection Open(string file)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = file,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        connection.Open();
        SqlExtensions.Exec(connection, "PRAGMA busy_timeout=10000;");
        return connection;
    }

    /// <summary>Creates <paramref name="file"/> empty and 0600 (the copy holds password hashes and sealed secrets); fails if it exists.</summary>
    internal static void CreatePrivate(string file)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFiles.FileMode;
        }
        using var created = new FileStream(file, options);
    }

    /// <summary>Flushes <paramref name="file"/> to the disk, so the rename never exposes a file whose pages are still in the page cache only.</summary>
    internal static void Sync(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>A database file and the files SQLite keeps beside it.</summary>
    internal static string[] SqliteFiles(string database) => [database, database + "-wal", database + "-shm", database + "-journal"];

    /// <summary>Removes a temporary copy and its companions; a leftover is only untidy, so a failure here never hides the error that led here.</summary>
    internal static void DeleteAll(string database)
    {
        foreach (var file in SqliteFiles(database))
        {
            try
            {
                File.Delete(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Left behind, named *.tmp-<pid> or *.restoring-<pid>.
            }
        }
    }
}
