using System.Data;
using System.Data.Common;
using System.Threading.Channels;

namespace Switchboard.Storage;

/// <summary>
/// The one write connection of this process, with group commit. Callers hand in a unit of work;
/// the writer runs queued units back to back inside one transaction, each under its own
/// savepoint, and commits once. A unit that throws is rolled back alone (its savepoint) and its
/// caller gets the exception; the others commit. A caller's task completes only after COMMIT
/// returned, so "202 Accepted" is never answered for a request that is not stored.
/// On SQLite one writer also removes busy-waiting between threads of the same process; on
/// PostgreSQL group commit lets one hot row (a user's balance) take many charges per commit
/// instead of one per fsync.
/// </summary>
public sealed class StoreWriter : IAsyncDisposable
{
    private readonly Channel<IWorkItem> _queue = Channel.CreateUnbounded<IWorkItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Store _store;
    private readonly Task _loop;
    private DbConnection? _connection;
    private string? _beforeNextBatch;

    public StoreWriter(Store store)
    {
        _store = store;
        _loop = Task.Factory.StartNew(Loop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public Task<T> WriteAsync<T>(Func<DbConnection, T> work) => Enqueue(work, UnitKind.Savepoint);

    /// <summary>
    /// For a unit that is one SQL statement: a statement is atomic by itself, so the savepoint
    /// around it is skipped. On PostgreSQL a failing statement aborts the whole transaction: the
    /// batch is then rolled back and each of its units re-run alone.
    /// </summary>
    public Task<T> WriteStatementAsync<T>(Func<DbConnection, T> statement) => Enqueue(statement, UnitKind.Statement);

    /// <summary>
    /// For a unit of several statements that throws only when the store fails (its expected
    /// outcomes are results): a savepoint costs SQLite a copy of every page the unit touches
    /// (its statement journal) and two statements, so there is none; if the unit throws, the
    /// batch is rolled back and each unit re-run alone, as for a failed statement on PostgreSQL.
    /// A unit that often throws would cost its whole group that retry: use a savepoint there.
    /// </summary>
    public Task<T> WriteCheckedAsync<T>(Func<DbConnection, T> work) => Enqueue(work, UnitKind.Checked);

    /// <summary>
    /// Runs <paramref name="sql"/> on the write connection before the writer's next transaction,
    /// outside any (a request made again before then replaces the first). Its failure is
    /// ignored: it is for upkeep that the next request will repeat, such as a WAL checkpoint.
    /// </summary>
    internal void RunBeforeNextBatch(string sql) => Volatile.Write(ref _beforeNextBatch, sql);

    /// <summary>One item of a <see cref="BatchedStatement{TItem, TResult}"/>, run with the others of its kind in this group.</summary>
    public Task<TResult> WriteBatchedAsync<TItem, TResult>(BatchedStatement<TItem, TResult> kind, TItem item)
    {
        var batched = new BatchedItem<TItem, TResult>(kind, item);
        if (!_queue.Writer.TryWrite(batched))
        {
            throw new ObjectDisposedException(nameof(StoreWriter));
        }
        return batched.Completion.Task;
    }

    private Task<T> Enqueue<T>(Func<DbConnection, T> work, UnitKind kind)
    {
        var item = new WorkItem<T>(work, kind);
        if (!_queue.Writer.TryWrite(item))
        {
            throw new ObjectDisposedException(nameof(StoreWriter));
        }
        return item.Completion.Task;
    }

    private void Loop()
    {
        var batch = new List<IWorkItem>(_store.MaxBatch);
        var reader = _queue.Reader;
        try
        {
            while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                batch.Clear();
                while (batch.Count < _store.MaxBatch && reader.TryRead(out var item))
                {
                    batch.Add(item);
                }
                DbConnection connection;
                try
                {
                    connection = Connection();
                }
                catch (Exception ex)
                {
                    batch.ForEach(item => item.Fail(ex));
                    continue;
                }
                if (Interlocked.Exchange(ref _beforeNextBatch, null) is { } upkeep)
                {
                    TryExec(connection, upkeep); // Upkeep only: the batch runs regardless, and the next request retries it.
                }
                RunBatch(connection, batch);
            }
        }
        finally
        {
            _connection?.Dispose();
        }
    }

    /// <summary>The write connection, opened again after the server dropped it.</summary>
    private DbConnection Connection()
    {
        if (_connection is { State: ConnectionState.Open })
        {
            return _connection;
        }
        _connection?.Dispose();
        _connection = null;
        _connection = _store.OpenWriter();
        return _connection;
    }

    private void RunBatch(DbConnection connection, List<IWorkItem> batch)
    {
        var ok = new bool[batch.Count];
        try
        {
            SqlExtensions.Exec(connection, _store.BeginSql);
        }
        catch (Exception ex)
        {
            batch.ForEach(item => item.Fail(ex));
            return;
        }
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch[i] is IBatchedItem batched)
            {
                if (ok[i])
                {
                    continue; // Already run with an earlier item of its kind.
                }
                var group = GroupOf(batch, i, batched.Statement);
                try
                {
                    batched.RunGroup(connection, [.. group.Select(g => batch[g])]);
                    group.ForEach(g => ok[g] = true);
                }
                catch (Exception ex)
                {
                    if (_store.ErrorAbortsTransaction)
                    {
                        TryExec(connection, "ROLLBACK");
                        RunAlone(connection, batch);
                        return;
                    }
                    group.ForEach(g => batch[g].Fail(ex));
                }
                continue;
            }
            var savepoint = batch[i].Kind == UnitKind.Savepoint;
            try
            {
                if (savepoint)
                {
                    SqlExtensions.Exec(connection, "SAVEPOINT unit");
                }
                batch[i].Run(connection);
                if (savepoint)
                {
                    SqlExtensions.Exec(connection, "RELEASE unit");
                }
                ok[i] = true;
            }
            catch (Exception ex)
            {
                if (batch[i].Kind == UnitKind.Checked || (!savepoint && _store.ErrorAbortsTransaction))
                {
                    // The transaction is dead: nothing of the batch is kept. Each unit runs again
                    // alone, so one unit's failure costs the others a retry, not an error.
                    TryExec(connection, "ROLLBACK");
                    RunAlone(connection, batch);
                    return;
                }
                if (savepoint && !TryExec(connection, "ROLLBACK TO unit; RELEASE unit"))
                {
                    // The savepoint could not be restored (the connection failed): nothing commits.
                    TryExec(connection, "ROLLBACK");
                    batch.ForEach(item => item.Fail(ex));
                    return;
                }
                batch[i].Fail(ex);
            }
        }
        try
        {
            SqlExtensions.Exec(connection, "COMMIT");
        }
        catch (Exception ex)
        {
            // Already rolled back by the server, or the connection failed: either way the units
            // that had run report the failure, and the next batch opens the connection again.
            TryExec(connection, "ROLLBACK");
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

    /// <summary>Positions of the items of one batched kind from <paramref name="first"/> on (only the first one on SQLite).</summary>
    private List<int> GroupOf(List<IWorkItem> batch, int first, object kind)
    {
        var group = new List<int> { first };
        if (!_store.ErrorAbortsTransaction)
        {
            return group; // SQLite: no round trips to save; one item, one statement.
        }
        for (var j = first + 1; j < batch.Count; j++)
        {
            if (batch[j] is IBatchedItem other && ReferenceEquals(other.Statement, kind))
            {
                group.Add(j);
            }
        }
        return group;
    }

    private void RunAlone(DbConnection connection, List<IWorkItem> batch)
    {
        foreach (var item in batch)
        {
            try
            {
                SqlExtensions.Exec(connection, _store.BeginSql);
                if (item is IBatchedItem batched)
                {
                    batched.RunGroup(connection, [item]);
                }
                else
                {
                    item.Run(connection);
                }
                SqlExtensions.Exec(connection, "COMMIT");
                item.Complete();
            }
            catch (Exception ex)
            {
                TryExec(connection, "ROLLBACK");
                item.Fail(ex);
            }
        }
    }

    private static bool TryExec(DbConnection connection, string sql)
    {
        try
        {
            SqlExtensions.Exec(connection, sql);
            return true;
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private enum UnitKind
    {
        /// <summary>Under a savepoint of its own: its failure undoes it alone.</summary>
        Savepoint,

        /// <summary>One statement, atomic by itself.</summary>
        Statement,

        /// <summary>Several statements that throw only when the store fails: a failure re-runs the batch's units alone.</summary>
        Checked,
    }

    private interface IWorkItem
    {
        UnitKind Kind { get; }

        void Run(DbConnection connection);
        void Complete();
        void Fail(Exception ex);
    }

    private interface IBatchedItem : IWorkItem
    {
        object Statement { get; }

        /// <summary>Runs this item with the others of its kind (this item among them) and sets each one's result.</summary>
        void RunGroup(DbConnection connection, IReadOnlyList<IWorkItem> group);
    }

    private sealed class BatchedItem<TItem, TResult>(BatchedStatement<TItem, TResult> kind, TItem item) : IBatchedItem
    {
        private TResult _result = default!;

        public object Statement => kind;

        public UnitKind Kind => UnitKind.Statement;

        public TaskCompletionSource<TResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void RunGroup(DbConnection connection, IReadOnlyList<IWorkItem> group)
        {
            var items = group.Cast<BatchedItem<TItem, TResult>>().ToList();
            var results = kind.Run(connection, [.. items.Select(i => i.Item)]);
            for (var i = 0; i < items.Count; i++)
            {
                items[i]._result = results[i];
            }
        }

        public TItem Item => item;

        public void Run(DbConnection connection) => RunGroup(connection, [this]);

        public void Complete() => Completion.TrySetResult(_result);

        public void Fail(Exception ex) => Completion.TrySetException(ex);
    }

    private sealed class WorkItem<T>(Func<DbConnection, T> work, UnitKind kind) : IWorkItem
    {
        public UnitKind Kind => kind;

        private T _result = default!;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Run(DbConnection connection) => _result = work(connection);

        public void Complete() => Completion.TrySetResult(_result);

        public void Fail(Exception ex) => Completion.TrySetException(ex);
    }
}
