using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace Switchboard.Storage;

/// <summary>Small helpers that keep the SQL readable at its call sites.</summary>
public static class SqlExtensions
{
    private static readonly ConditionalWeakTable<SqliteConnection, Dictionary<string, SqliteCommand>> Prepared = new();

    /// <summary>
    /// A command kept per connection and SQL text, so SQLite parses the statement once: the
    /// writer's hot statements run thousands of times a second. Do not dispose it.
    /// </summary>
    public static SqliteCommand Cached(this SqliteConnection connection, string sql, params (string Name, object? Value)[] args)
    {
        var commands = Prepared.GetOrCreateValue(connection);
        if (!commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            commands[sql] = command;
        }
        command.Parameters.Clear();
        foreach (var (name, value) in args)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return command;
    }
    public static SqliteCommand Sql(this SqliteConnection connection, string sql, params (string Name, object? Value)[] args)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in args)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return command;
    }

    public static int Execute(this SqliteConnection connection, string sql, params (string Name, object? Value)[] args) =>
        connection.Cached(sql, args).ExecuteNonQuery();

    public static T? Scalar<T>(this SqliteConnection connection, string sql, params (string Name, object? Value)[] args)
    {
        var value = connection.Cached(sql, args).ExecuteScalar();
        if (value is null or DBNull)
        {
            return default;
        }
        return (T)Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static string? StringOrNull(this SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static long? LongOrNull(this SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    public static int? IntOrNull(this SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);
}
