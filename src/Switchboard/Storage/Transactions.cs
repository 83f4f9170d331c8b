using Microsoft.Data.Sqlite;

namespace Switchboard.Storage;

public static class Transactions
{
    /// <summary>
    /// One immediate transaction on a fresh connection, for processes without a writer (the
    /// management CLI). BEGIN IMMEDIATE takes the write lock up front, so the work cannot fail
    /// half-way on a lock held by a running server; busy_timeout waits for it instead.
    /// </summary>
    public static T Run<T>(Database database, Func<SqliteConnection, T> work)
    {
        using var connection = database.Open();
        Database.Exec(connection, "BEGIN IMMEDIATE;");
        try
        {
            var result = work(connection);
            Database.Exec(connection, "COMMIT;");
            return result;
        }
        catch
        {
            Database.Exec(connection, "ROLLBACK;");
            throw;
        }
    }
}
