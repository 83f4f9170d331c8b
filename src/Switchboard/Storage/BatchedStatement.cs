using System.Data.Common;

namespace Switchboard.Storage;

/// <summary>
/// A kind of write that PostgreSQL can do for many callers in one statement (a multi-row
/// <c>INSERT … SELECT FROM unnest(…)</c>). The writer gathers the items of one kind that are in
/// the same group commit and runs them together: one round trip, one plan, and a hot row (a
/// user's balance) updated once per group instead of once per item. On SQLite, where a statement
/// costs no round trip, each item runs alone.
/// </summary>
/// <param name="run">Runs the items (never empty) in one statement; returns one result per item, in order.</param>
public sealed class BatchedStatement<TItem, TResult>(Func<DbConnection, IReadOnlyList<TItem>, IReadOnlyList<TResult>> run)
{
    internal IReadOnlyList<TResult> Run(DbConnection connection, IReadOnlyList<TItem> items)
    {
        var results = run(connection, items);
        if (results.Count != items.Count)
        {
            throw new InvalidOperationException($"a batched statement returned {results.Count} results for {items.Count} items");
        }
        return results;
    }
}
