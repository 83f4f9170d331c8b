namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A test class whose tests all start alike: <see cref="StartAsync"/> says how once, and xUnit,
/// which makes an instance of the class per test, gives each test its own <see cref="App"/>
/// (store, server, users), disposed and audited after it, as an
/// <c>await using var app = await TestApp.StartAsync(...)</c> at the top of each test would.
/// </summary>
public abstract class AppTests : IAsyncLifetime
{
    private TestApp? _app;

    protected TestApp App => _app ?? throw new InvalidOperationException("the app starts before each test");

    /// <summary>Starts this test's app: its store, catalog, settings, and the users the tests use (kept in fields).</summary>
    protected abstract Task<TestApp> StartAsync();

    public async Task InitializeAsync() => _app = await StartAsync();

    public virtual async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
