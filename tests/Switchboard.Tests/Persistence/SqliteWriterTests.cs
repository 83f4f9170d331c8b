using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Persistence;

/// <summary>Group commit never commits half a unit, and one unit's failure is its caller's alone where it can be.</summary>
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

    private static void Insert(Microsoft.Data.Sqlite.SqliteConnection c, string key) =>
        c.Execute("INSERT INTO meta (key, value) VALUES ($k, 1)", ("$k", key));

    private long Count(string key) => Ledger.Query(_dir.Path, c => c.Scalar<long>("SELECT COUNT(*) FROM meta WHERE key = $k", ("$k", key)));

    [Fact]
    public async Task AFailingUnitIsUndoneAloneAndTheOthersCommit()
    {
        var good = _writer.WriteAsync(c => Insert(c, "good-1"));
        var bad = _writer.WriteAsync(c =>
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
    public async Task AUnitWithoutSavepointThatFailsAfterWritingLeavesNothingBehind()
    {
        var bad = _writer.WriteWithoutSavepointAsync<bool>(c =>
        {
            Insert(c, "half");
            throw new InvalidOperationException("failed half-way");
        });

        await Assert.ThrowsAsync<InvalidOperationException>(() => bad);
        Assert.Equal(0, Count("half"));
        // The writer goes on after rolling the batch back.
        await _writer.WriteWithoutSavepointAsync(c => c.Execute("INSERT INTO meta (key, value) VALUES ('next', 1)"));
        Assert.Equal(1, Count("next"));
    }

    [Fact]
    public async Task ARefusalBeforeAnyWriteFailsOnlyItsCaller()
    {
        var results = Enumerable.Range(0, 50).Select(i => i == 25
            ? _writer.WriteWithoutSavepointAsync<int>(_ => throw new RejectedBeforeWriteException("no"))
            : _writer.WriteWithoutSavepointAsync(c => c.Execute("INSERT INTO meta (key, value) VALUES ($k, 1)", ("$k", $"k{i}")))).ToList();

        await Assert.ThrowsAsync<RejectedBeforeWriteException>(() => results[25]);
        foreach (var (task, i) in results.Select((t, i) => (t, i)).Where(x => x.i != 25))
        {
            Assert.Equal(1, await task);
            Assert.Equal(1, Count($"k{i}"));
        }
    }
}
