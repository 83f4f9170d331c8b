using System.Data.Common;
using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;

namespace Switchboard.Storage;

/// <summary>Small helpers that keep the SQL readable at its call sites. Parameters are named <c>@name</c> (both stores read that).</summary>
public static class SqlExtensions
{
    private static readonly ConditionalWeakTable<DbConnection, Dictionary<string, DbCommand>> Prepared = new();

    /// <summary>
    /// A command kept per connection and SQL text, so the statement is parsed once per
    /// connection: the writer's hot statements run thousands of times a second. Do not dispose it.
    /// </summary>
    public static DbCommand Cached(this DbConnection connection, string sql, params (string Name, object? Value)[] args)
    {
        if (connection is NpgsqlConnection)
        {
            // Npgsql prepares by SQL text itself (auto-prepare, see PostgresStore); a reused
            // command object would keep its first parameters bound.
            return connection.Sql(sql, args);
        }
        var commands = Prepared.GetOrCreateValue(connection);
        if (!commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            commands[sql] = command;
        }
        command.Parameters.Clear();
        Bind(command, args);
        return command;
    }

    public static DbCommand Sql(this DbConnection connection, string sql, params (string Name, object? Value)[] args)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        Bind(command, args);
        return command;
    }

    private static void Bind(DbCommand command, (string Name, object? Value)[] args)
    {
        foreach (var (name, value) in args)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            if (value is Json json)
            {
                parameter.Value = (object?)json.Text ?? DBNull.Value;
                if (parameter is NpgsqlParameter npgsql)
                {
                    npgsql.NpgsqlDbType = NpgsqlDbType.Jsonb;
                }
            }
            else
            {
                parameter.Value = value ?? DBNull.Value;
            }
            command.Parameters.Add(parameter);
        }
    }

    public static int Execute(this DbConnection connection, string sql, params (string Name, object? Value)[] args) =>
        connection.Cached(sql, args).ExecuteNonQuery();

    /// <summary>Runs SQL without parameters, possibly several statements.</summary>
    public static void Exec(DbConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public static T? Scalar<T>(this DbConnection connection, string sql, params (string Name, object? Value)[] args)
    {
        var value = connection.Cached(sql, args).ExecuteScalar();
        if (value is null or DBNull)
        {
            return default;
        }
        return (T)Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static string? StringOrNull(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static long? LongOrNull(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    public static int? IntOrNull(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);
}
