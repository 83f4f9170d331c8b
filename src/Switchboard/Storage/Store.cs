using System.Data.Common;

namespace Switchboard.Storage;

public enum StoreKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// The database behind every role: the embedded default's SQLite file, or PostgreSQL in the
/// distributed deployment. Reads open a connection of their own; every write is a unit of work
/// handed to this process's <see cref="StoreWriter"/>, which commits units in groups. The SQL is
/// shared between the two where it can be (parameters are <c>@name</c>, JSON values are
/// <see cref="Json"/>); a statement that must differ checks <see cref="Kind"/> (the hot writes
/// on PostgreSQL are multi-row <see cref="BatchedStatement{TItem, TResult}"/>s).
/// </summary>
public abstract class Store : IAsyncDisposable
{
    private readonly Lazy<StoreWriter> _writer;

    protected Store() => _writer = new Lazy<StoreWriter>(() => new StoreWriter(this));

    public abstract StoreKind Kind { get; }

    /// <summary>This process's one write connection and its queue.</summary>
    internal StoreWriter Writer => _writer.Value;

    /// <summary>Where the store is, for logs: a file path, or host/port/database (never a password).</summary>
    public abstract string Description { get; }

    /// <summary>An open connection for reads (or for the writer's own use); dispose it.</summary>
    public abstract DbConnection Open();

    /// <summary>The writer's own connection, with whatever settings only the writer needs.</summary>
    internal virtual DbConnection OpenWriter() => Open();

    /// <summary>
    /// Applies the schema migrations this build has and the store lacks; safe when several
    /// processes start at once. Returns the schema version the store had: above
    /// <see cref="Migrations.Latest"/> when a newer build migrated it (run on as it is).
    /// </summary>
    public long Migrate() => MigrationRunner.Apply(this);

    /// <summary>Largest group of units committed in one transaction.</summary>
    internal abstract int MaxBatch { get; }

    /// <summary>Starts the writer's transaction (SQLite takes its write lock up front).</summary>
    internal abstract string BeginSql { get; }

    /// <summary>
    /// PostgreSQL aborts a whole transaction when one statement fails; SQLite only undoes the
    /// statement. The writer must know which, for units that run without a savepoint.
    /// </summary>
    internal abstract bool ErrorAbortsTransaction { get; }

    /// <summary>Runs a unit of work in a transaction; the task completes after COMMIT.</summary>
    public Task<T> WriteAsync<T>(Func<DbConnection, T> work) => _writer.Value.WriteAsync(work);

    public Task WriteAsync(Action<DbConnection> work) => _writer.Value.WriteAsync(c =>
    {
        work(c);
        return true;
    });

    /// <summary>
    /// For a unit that is one SQL statement, atomic by itself: it runs without a savepoint (the
    /// executor's claim and outcome writes, the API's submit are hot).
    /// </summary>
    public Task<T> WriteStatementAsync<T>(Func<DbConnection, T> statement) => _writer.Value.WriteStatementAsync(statement);

    /// <summary>
    /// For a unit of several statements whose expected outcomes are results, not exceptions (it
    /// throws only when the store fails): no savepoint around it; if it throws, its whole group
    /// is rolled back and each unit re-run alone, so no part of it commits.
    /// </summary>
    public Task<T> WriteCheckedAsync<T>(Func<DbConnection, T> work) => _writer.Value.WriteCheckedAsync(work);

    /// <summary>One item of a kind of write PostgreSQL runs for a whole group commit in one statement.</summary>
    public Task<TResult> WriteBatchedAsync<TItem, TResult>(BatchedStatement<TItem, TResult> kind, TItem item) => _writer.Value.WriteBatchedAsync(kind, item);

    /// <summary>Writes from a process that has nothing else to do (the management CLI).</summary>
    public T Write<T>(Func<DbConnection, T> work) => WriteAsync(work).GetAwaiter().GetResult();

    public virtual async ValueTask DisposeAsync()
    {
        if (_writer.IsValueCreated)
        {
            await _writer.Value.DisposeAsync();
        }
        GC.SuppressFinalize(this);
    }
}
