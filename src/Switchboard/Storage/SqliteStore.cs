using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Switchboard.Storage;

/// <summary>
/// The embedded default: one SQLite file in WAL mode. Reads open pooled connections (WAL lets
/// them run beside the writer); every write goes through this process's writer. Other processes
/// (the management CLI) may write to the same file: SQLite's file lock serializes them.
/// </summary>
public sealed class SqliteStore : Store
{
    private readonly string _pragmas;
    private readonly string _connectionString;

    /// <param name="filePath">The database file; its folder is created when missing.</param>
    /// <param name="synchronous">
    /// SQLite's <c>synchronous</c> for this process's connections: FULL (default) fsyncs the WAL
    /// at every commit, so an answered request survives power loss; NORMAL survives a process
    /// crash but may lose the last commits on power loss, for more throughput. Group commit makes
    /// FULL cheap under load: one fsync covers a whole batch.
    /// </param>
    public SqliteStore(string filePath, string synchronous = "FULL")
    {
        if (synchronous.ToUpperInvariant() is not ("FULL" or "NORMAL"))
        {
            throw new ArgumentException($"synchronous must be FULL or NORMAL, not '{synchronous}'");
        }
        // busy_timeout: the management CLI may write to the same file while serve runs; wait for
        // its short transactions instead of failing. cache_size (32 MiB, the default is 2): the
        // hot index pages of requests and ledger stay in memory under load.
        _pragmas = $"PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; PRAGMA synchronous={synchronous.ToUpperInvariant()}; PRAGMA cache_size=-32768;";
        FilePath = Path.GetFullPath(filePath);
        // Created private before SQLite opens it: SQLite gives -wal and -shm the main file's mode.
        var folder = Path.GetDirectoryName(FilePath)!;
        FolderOpenToOthers = PrivateFiles.IsOpenToOthers(folder);
        PrivateFiles.CreateFolder(folder);
        PrivateFiles.CreateFile(FilePath);
        Narrowed = PrivateFiles.Narrow(FilePath, FilePath + "-wal", FilePath + "-shm");
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string FilePath { get; }

    /// <summary>Files of this store that were open to group or others and are now 0600 (logged at start).</summary>
    public IReadOnlyList<string> Narrowed { get; }

    /// <summary>Whether the database's existing folder is open to group or others (logged at start, left as it is).</summary>
    public bool FolderOpenToOthers { get; }

    public override StoreKind Kind => StoreKind.Sqlite;

    public override string Description => FilePath;

    internal override int MaxBatch => 512;

    internal override string BeginSql => "BEGIN IMMEDIATE";

    internal override bool ErrorAbortsTransaction => false;

    public override DbConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        SqlExtensions.Exec(connection, _pragmas);
        return connection;
    }

    internal override DbConnection OpenWriter()
    {
        var connection = Open();
        // Checkpoints are WalCheckpointer's job, on its own connection, so a COMMIT here never
        // stops to copy the WAL into the database file. This high mark is only a safety net
        // for when that service is not running (it checkpoints itself past ~80 MB of WAL).
        // And the WAL file shrinks back after a restart instead of keeping its high-water size.
        SqlExtensions.Exec(connection, "PRAGMA wal_autocheckpoint=20000; PRAGMA journal_size_limit=67108864;");
        return connection;
    }
}
