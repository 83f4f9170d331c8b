namespace Switchboard.Tests.Panel;

/// <summary>
/// One <c>switchboard serve</c> process (SQLite) shared by a class of browser tests, as an xUnit
/// class fixture on the harness: <see cref="PrepareAsync"/> fills its store before it starts;
/// the process and the store (audited) go when the class is done.
/// </summary>
public abstract class PanelServe : IAsyncLifetime
{
    private TestApp? _app;

    public TestStore Store => _app!.Store;

    public SwitchboardProcess Serve { get; private set; } = null!;

    /// <summary>Users, catalog and configs the class's tests find, written before serve starts.</summary>
    protected abstract Task PrepareAsync();

    public async Task InitializeAsync()
    {
        _app = await TestApp.StartAsync(StoreKind.Sqlite);
        await PrepareAsync();
        Serve = await _app.StartServeAsync();
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
