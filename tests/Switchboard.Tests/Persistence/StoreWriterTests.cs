using System.Data.Common;

namespace Switchboard.Tests.Persistence;

/// <summary>Group commit never commits half a unit, and one unit's failure is its caller's alone.</summary>
public abstract class StoreWriterTests(StoreKind kind) : AppTests
{
    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(kind);

    private static int Insert(DbConnection c, string key) =>
        c.Execute("INSERT INTO meta (key, value) VALUES (@k, 1)", ("@k", key));

    private long Count(string key) => App.Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM meta WHERE key = @k", ("@k", key)));

    [Fact]
    public async Task AUnitThatFailsHalfWayIsUndoneAloneAndTheOthersCommit()
    {
        var writer = App.Store.Store;
        var good = writer.WriteAsync(c => Insert(c, "good-1"));
        var bad = writer.WriteAsync<int>(c =>
        {
            Insert(c, "bad");
            throw new InvalidOperationException("boom");
        });
        var failing = writer.WriteAsync(c => Insert(c, "good-1"));
        var after = writer.WriteAsync(c => Insert(c, "good-2"));

        await good;
        await Assert.ThrowsAsync<InvalidOperationException>(() => bad);
        // A statement that fails inside a unit (a duplicate key) rolls back that unit alone,
        // also on PostgreSQL, where the failed statement poisons the transaction until the
        // unit's savepoint is restored.
        await Assert.ThrowsAnyAsync<DbException>(() => failing);
        await after;
        Assert.Equal(1, Count("good-1"));
        Assert.Equal(0, Count("bad"));
        Assert.Equal(1, Count("good-2"));
    }

    [Fact]
    public async Task AFailingSingleStatementUnitFailsOnlyItsCaller()
    {
        var results = Enumerable.Range(0, 50)
            .Select(i => App.Store.Store.WriteStatementAsync(c => Insert(c, i == 25 ? "k0" : $"k{i}")))
            .ToList();

        // Unit 25 repeats unit 0's key: its one statement fails whole, the 49 others commit
        // (on PostgreSQL, after the batch is rolled back and its units re-run one by one).
        await Assert.ThrowsAnyAsync<DbException>(() => results[25]);
        foreach (var i in Enumerable.Range(0, 50).Where(i => i != 25))
        {
            Assert.Equal(1, await results[i]);
            Assert.Equal(1, Count($"k{i}"));
        }
    }

    [Fact]
    public async Task ACheckedUnitThatThrowsAfterItsFirstWriteCommitsNothingOfItAndTheOthersCommit()
    {
        var store = App.Store.Store;
        var results = Enumerable.Range(0, 20)
            .Select(i => i == 10
                ? store.WriteCheckedAsync<int>(c =>
                {
                    Insert(c, "half");
                    throw new InvalidOperationException("the store failed half way");
                })
                : store.WriteCheckedAsync(c => Insert(c, $"a{i}") + Insert(c, $"b{i}")))
            .ToList();

        // No savepoint around a checked unit: its failure rolls the group back and each unit runs
        // again alone, so the half-written unit leaves nothing and the others both their rows.
        await Assert.ThrowsAsync<InvalidOperationException>(() => results[10]);
        Assert.Equal(0, Count("half"));
        foreach (var i in Enumerable.Range(0, 20).Where(i => i != 10))
        {
            Assert.Equal(2, await results[i]);
            Assert.Equal(1, Count($"a{i}"));
            Assert.Equal(1, Count($"b{i}"));
        }
    }
}

public sealed class StoreWriterOnSqlite() : StoreWriterTests(StoreKind.Sqlite);

public sealed class StoreWriterOnPostgres() : StoreWriterTests(StoreKind.Postgres);
