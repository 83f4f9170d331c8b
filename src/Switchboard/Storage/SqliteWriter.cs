using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Switchboard.Storage;

/// <summary>
/// The one write connection of this process, with group commit. Callers hand in a unit of work;
/// the writer runs queued units back to back inside one transaction, each under its own
/// savepoint, and commits once. A unit that throws is rolled back alone (its savepoint) and its
/// caller gets the exception; the others commit. A caller's task completes only after COMMIT
/// returned, so "202 Accepted" is never answered for a request that is not on disk.
/// One writer also removes SQLite's busy-waiting between threads of the same process.
/// </summary>
public sealed class SqliteWriter : IAsyncDisposable
{
    private const int MaxBatch = 512;
    private readonly Channel<IWorkItem> _queue = Channel.CreateUnbounded<IWorkItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Database _database;
    private readonly Task _loop;

    public SqliteWriter(Database database)
    {
        _database = database;
        _loop = Task.Factory.StartNew(Loop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public Task<T> WriteAsync<T>(Func<SqliteConnection, T> work) => Enqueue(work, savepoint: true);

    /// <summary>
    /// For a unit that is one SQL statement: SQLite makes a statement atomic by itself, so the
    /// savepoint around it is skipped (the executor's claim and outcome writes are hot).
    /// </summary>
    public Task<T> WriteStatementAsync<T>(Func<SqliteConnection, T> statement) => Enqueue(statement, savepoint: false);

    private Task<T> Enqueue<T>(Func<SqliteConnection, T> work, bool savepoint)
    {
        var item = new WorkItem<T>(work, savepoint);
        if (!_queue.Writer.TryWrite(item))
        {
            throw new ObjectDisposedException(nameof(SqliteWriter));
        }
        return item.Completion.Task;
    }

    public Task WriteAsync(Action<SqliteConnection> work) => WriteAsync<bool>(c =>
    {
        work(c);
        return true;
    });

    private void Loop()
    {
        using var connection = _database.Open();
        // Checkpoints are WalCheckpointer's job, on its own connection, so a COMMIT here never
        // stops to copy the WAL into the database file. This high mark is only a safety net
        // for when that service is not running (it checkpoints itself past ~80 MB of WAL).
        connection.Execute("PRAGMA wal_autocheckpoint=20000");
        // And the WAL file shrinks back after a restart instead of keeping its high-water size.
        connection.Execute("PRAGMA journal_size_limit=67108864");
        var batch = new List<IWorkItem>(MaxBatch);
        var reader = _queue.Reader;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && reader.TryRead(out var item))
            {
                batch.Add(item);
            }
            RunBatch(connection, batch);
        }
    }

    private static void RunBatch(SqliteConnection connection, List<IWorkItem> batch)
    {
        var ok = new bool[batch.Count];
        try
        {
            connection.Execute("BEGIN IMMEDIATE");
        }
        catch (Exception ex)
        {
            foreach (var item in batch)
            {
                item.Fail(ex);
            }
            return;
        }
        for (var i = 0; i < batch.Count; i++)
        {
            var savepoint = batch[i].Savepoint;
            if (savepoint)
            {
                connection.Execute("SAVEPOINT unit");
            }
            try
            {
                batch[i].Run(connection);
                if (savepoint)
                {
                    connection.Execute("RELEASE unit");
                }
                ok[i] = true;
            }
            catch (Exception ex)
            {
                if (savepoint)
                {
                    Database.Exec(connection, "ROLLBACK TO unit; RELEASE unit;");
                }
                batch[i].Fail(ex);
            }
        }
        try
        {
            connection.Execute("COMMIT");
        }
        catch (Exception ex)
        {
            try
            {
                Database.Exec(connection, "ROLLBACK;");
            }
            catch (SqliteException)
            {
                // Already rolled back by SQLite itself; nothing of the batch is on disk either way.
            }
            for (var i = 0; i < batch.Count; i++)
            {
                if (ok[i])
                {
                    batch[i].Fail(ex);
                }
            }
            return;
        }
        for (var i = 0; i < batch.Count; i++)
        {
            if (ok[i])
            {
                batch[i].Complete();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private interface IWorkItem
    {
        bool Savepoint { get; }

        void Run(SqliteConnection connection);
        void Complete();
        void Fail(Exception ex);
    }

    private sealed class WorkItem<T>(Func<SqliteConnection, T> work, bool savepoint) : IWorkItem
    {
        public bool Savepoint => savepoint;

        private T _result = default!;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Run(SqliteConnection connection) => _result = work(connection);

        public void Complete() => Completion.TrySetResult(_result);

        public void Fail(Exception ex) => Completion.TrySetException(ex);
    }
}
