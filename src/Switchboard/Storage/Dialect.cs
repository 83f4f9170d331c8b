using System.Data.Common;
using Npgsql;

namespace Switchboard.Storage;

/// <summary>Which SQL a connection speaks, for the few statements that differ.</summary>
public static class Dialect
{
    public static StoreKind Of(DbConnection connection) => connection is NpgsqlConnection ? StoreKind.Postgres : StoreKind.Sqlite;
}

/// <summary>
/// A JSON text passed as a parameter: stored as <c>jsonb</c> on PostgreSQL, as text on SQLite.
/// </summary>
public readonly record struct Json(string? Text);
