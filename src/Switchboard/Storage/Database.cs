using Microsoft.Data.Sqlite;

namespace Switchboard.Storage;

/// <summary>
/// The SQLite file of the embedded default. Reads open pooled connections (WAL lets them run
/// beside the writer); every write goes through <see cref="SqliteWriter"/>, which owns the one
/// write connection of this process.
/// </summary>
public sealed class Database
{
    public Database(string dataDir)
    {
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
        // its short transactions instead of failing. synchronous=NORMAL in WAL mode survives a
        // process crash (what the invariants need); Storage:Synchronous=FULL adds power-loss safety.
        Exec(connection, "PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;");
        return connection;
    }

    public static void Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
