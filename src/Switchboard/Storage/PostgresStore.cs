using System.Data.Common;
using Npgsql;

namespace Switchboard.Storage;

/// <summary>
/// The distributed deployment's store: PostgreSQL, shared by every api, executor and recon
/// process. Connections come from Npgsql's pool; each process still writes through one
/// group-commit writer, so a hot row (one user's balance) takes a whole batch of charges per
/// commit instead of one per WAL flush.
/// </summary>
public sealed class PostgresStore : Store
{
    private readonly NpgsqlDataSource _dataSource;

    /// <param name="uri">An Npgsql connection string, or a <c>postgres://user:password@host:port/database</c> URL.</param>
    public PostgresStore(string uri)
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresUri.ToConnectionString(uri))
        {
            // The hot statements run thousands of times a second on long-lived connections:
            // Npgsql prepares them on the server after their second use.
            MaxAutoPrepare = 64,
            AutoPrepareMinUsages = 2,
        };
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = "switchboard";
        }
        Description = $"postgres://{builder.Host}:{builder.Port}/{builder.Database}";
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    public override StoreKind Kind => StoreKind.Postgres;

    public override string Description { get; }

    // Below PostgreSQL's 64 cached subtransactions per backend: more savepoints in one
    // transaction would make every other session's visibility checks slower.
    internal override int MaxBatch => 60;

    internal override string BeginSql => "BEGIN";

    internal override bool ErrorAbortsTransaction => true;

    public override DbConnection Open() => _dataSource.OpenConnection();

    /// <summary>
    /// The writer plans every statement with its actual parameters. Its hot statements are
    /// multi-row (<see cref="BatchedStatement{TItem, TResult}"/>: one plan per group commit, so
    /// planning is cheap), and a generic plan made while `requests` was empty — a new
    /// deployment — would join it by sequential scan for as long as the connection lives.
    /// </summary>
    internal override DbConnection OpenWriter()
    {
        var connection = Open();
        SqlExtensions.Exec(connection, "SET plan_cache_mode = force_custom_plan");
        return connection;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _dataSource.DisposeAsync();
    }
}
