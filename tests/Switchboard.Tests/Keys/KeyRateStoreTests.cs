namespace Switchboard.Tests.Keys;

/// <summary>
/// The rpm limiter without Redis on PostgreSQL: two limiters (as two api processes would hold)
/// share one key's row of <c>api_key_rate</c>, so together they let exactly the key's rpm through.
/// </summary>
public sealed class KeyRateStoreTests : IAsyncLifetime
{
    private TestStore _store = null!;

    public Task InitializeAsync()
    {
        _store = TestStore.Create(StoreKind.Postgres);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task TwoLimitersOnOnePostgresStoreShareTheKeysRpm()
    {
        var services = new ServiceCollection().BuildServiceProvider();
        var first = new Users.KeyRateLimiter(_store.Store, services);
        var second = new Users.KeyRateLimiter(_store.Store, services);

        var answers = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Task.Run(() => (i % 2 == 0 ? first : second).TryTakeAsync("sb_testkey1", 10))));

        Assert.Equal(10, answers.Count(a => a is null));
        Assert.All(answers.Where(a => a is not null), a => Assert.InRange(a!.Value.TotalSeconds, 0.001, 60));
        // Another key has its own row.
        Assert.Null(await first.TryTakeAsync("sb_testkey2", 10));
    }
}
