using Microsoft.Data.Sqlite;

namespace Switchboard.Storage;

/// <summary>
/// The SQLite file of the embedded default. Reads open pooled connections (WAL lets them run
/// beside the writer); every write goes through <see cref="SqliteWriter"/>, which owns the one
/// write connection of this process.
/// </summary>
public sealed class Database
{
    private readonly string _pragmas;

    /// <param name="synchronous">
    /// SQLite's <c>synchronous</c> for this process's connections: FULL (default) fsyncs the WAL
    /// at every commit, so an answered request survives power loss; NORMAL survives a process
    /// crash but may lose the last commits on power loss, for more throughput. Group commit makes
    /// FULL cheap under load: one fsync covers a whole batch.
    /// </param>
    public Database(string dataDir, string synchronous = "FULL")
    {
        if (synchronous.ToUpperInvariant() is not ("FULL" or "NORMAL"))
        {
            throw new ArgumentException($"synchronous must be FULL or NORMAL, not '{synchronous}'");
        }
        _pragmas = $"PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; PRAGMA synchronous={synchronous.ToUpperInvariant()}; PRAGMA cache_size=-32768;";
        Directory.CreateDirectory(dataDir);
        FilePath = Path.GetFullPath(Path.Combine(dataDir, "switchboard.db"));
        ConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string FilePath { get; }

    public string ConnectionString { get; }

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        // busy_timeout: the management CLI may write to the same file while serve runs; wait for
        // its short transactions instead of failing. cache_size (32 MiB, the default is 2): the
        // hot index pages of requests and ledger stay in memory under load.
        Exec(connection, _pragmas);
        return connection;
    }

    public static void Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
