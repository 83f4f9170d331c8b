using Switchboard.Users;

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

    /// <summary>The users the class's tests act as, by name: their id and API key.</summary>
    public Dictionary<string, (string Id, string Key)> Users { get; } = [];

    protected TestApp App => _app!;

    /// <summary>Users, catalog and configs the class's tests find, written before serve starts.</summary>
    protected abstract Task PrepareAsync();

    /// <summary>Starts the process once the store is prepared: plain <c>serve</c> unless a class needs settings of its own.</summary>
    protected virtual Task<SwitchboardProcess> StartAsync(TestApp app) => app.StartServeAsync();

    /// <summary>
    /// What most panel classes start from: the admin <c>root</c> (<see cref="PanelSession.Password"/>), the echo catalog
    /// (<c>text/shout</c> at 5 credits, <c>text/broken</c> at 4, which always fails, refunded;
    /// then <paramref name="more"/>: lines of further offers, and sections such as deals), and
    /// <paramref name="users"/> with their credits, in <see cref="Users"/>. A name today's rules
    /// refuse (<see cref="UserNames"/>) is made as a stored name from before the rules.
    /// </summary>
    protected async Task AdminAndEchoCatalogAsync(string more, params (string Name, long Credits)[] users)
    {
        await PanelSession.CreateAdmin(Store, "root");
        await Infrastructure.Cli.ApplyCatalog(Store, """
            handlers:
              - {id: echo.render, credits: 1}
            offers:
              - {service: text, action: shout, handler: echo.render, price: 5, prompt_template: "Say {word}"}
              - {service: text, action: broken, handler: echo.render, price: 4, prompt_template: "Never {thing}", params: {fail: "the model is on strike"}}

            """ + more);
        foreach (var (name, credits) in users)
        {
            Users[name] = UserNames.IsValid(name) ? await Infrastructure.Cli.CreateUser(Store, name, credits) : await LegacyUsers.Create(Store, name, credits);
        }
    }

    /// <summary>
    /// A request by <paramref name="user"/> (with its API key) through <c>/svc</c>, accepted (202);
    /// then, when <paramref name="statuses"/> are given, waits until it is in one of them. Its id.
    /// </summary>
    public async Task<string> Submit(string user, string path, object body, params string[] statuses)
    {
        using var client = Serve.Client(Users[user].Key);
        var response = await client.PostAsJsonAsync(path, body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = await SwitchboardFactory.IdOf(response);
        if (statuses.Length > 0)
        {
            await SwitchboardFactory.WaitFor(client, id, TimeSpan.FromSeconds(30), statuses);
        }
        return id;
    }

    public async Task InitializeAsync()
    {
        _app = await TestApp.StartAsync(StoreKind.Sqlite);
        await PrepareAsync();
        Serve = await StartAsync(_app);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
