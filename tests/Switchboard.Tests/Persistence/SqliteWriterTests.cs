using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Persistence;

/// <summary>Group commit never commits half a unit, and one unit's failure is its caller's alone.</summary>
public sealed class SqliteWriterTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private Database _database = null!;
    private SqliteWriter _writer = null!;

    public Task InitializeAsync()
    {
        _database = new Database(_dir.Path);
        Migrations.Apply(_database);
        _writer = new SqliteWriter(_database);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _writer.DisposeAsync();
        _dir.Dispose();
    }

    private static int Insert(Microsoft.Data.Sqlite.SqliteConnection c, string key) =>
        c.Execute("INSERT INTO meta (key, value) VALUES ($k, 1)", ("$k", key));

    private long Count(string key) => Ledger.Query(_dir.Path, c => c.Scalar<long>("SELECT COUNT(*) FROM meta WHERE key = $k", ("$k", key)));

    [Fact]
    public async Task AUnitThatFailsHalfWayIsUndoneAloneAndTheOthersCommit()
    {
        var good = _writer.WriteAsync(c => Insert(c, "good-1"));
        var bad = _writer.WriteAsync<int>(c =>
        {
            Insert(c, "bad");
            throw new InvalidOperationException("boom");
        });
        var after = _writer.WriteAsync(c => Insert(c, "good-2"));

        await good;
        await Assert.ThrowsAsync<InvalidOperationException>(() => bad);
        await after;
        Assert.Equal(1, Count("good-1"));
        Assert.Equal(0, Count("bad"));
        Assert.Equal(1, Count("good-2"));
    }

    [Fact]
    public async Task AFailingSingleStatementUnitFailsOnlyItsCaller()
    {
        var results = Enumerable.Range(0, 50)
            .Select(i => _writer.WriteStatementAsync(c => Insert(c, i == 25 ? "k0" : $"k{i}")))
            .ToList();

        // Unit 25 repeats unit 0's key: its one statement fails whole, the 49 others commit.
        await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => results[25]);
        foreach (var i in Enumerable.Range(0, 50).Where(i => i != 25))
        {
            Assert.Equal(1, await results[i]);
            Assert.Equal(1, Count($"k{i}"));
        }
    }
}
