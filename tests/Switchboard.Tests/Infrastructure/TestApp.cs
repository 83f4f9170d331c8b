using System.Data.Common;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// One test's whole world, in the shape of TodoApi's <c>await using var application = new TodoApplication();</c>:
/// <code>
/// await using var app = await TestApp.StartAsync(kind, catalog: Catalog);
/// var alice = await app.AddUserAsync("alice", 100);
/// var response = await alice.Client.PostAsJsonAsync("/svc/t/a/", new { topic = "owls" });
/// </code>
/// Its own store (<see cref="TestStore"/>: a SQLite folder or a fresh PostgreSQL database), the
/// whole <c>serve</c> in memory (<see cref="SwitchboardFactory"/>, started at the first client or
/// service asked for, so catalog and users set up before that are what it loads), and the
/// operator's side (the management commands, in process). Disposing it stops the server and the
/// clients, then disposes the store, which runs the credits audit (see <see cref="TestStore"/>):
/// every test that wrote a store ends with the audit, with no line of its own.
/// <para>
/// One way to run a test on both stores: an abstract class taking the <see cref="StoreKind"/>,
/// and two one-line subclasses <c>…OnSqlite</c> / <c>…OnPostgres</c> (<c>DealRequestTests</c>),
/// so a report names the store and one store's class runs alone under a class-name filter.
/// A class whose tests all start alike says how once, by deriving from <see cref="AppTests"/>
/// (still an app per test); a class that needs one app for all its tests (a slow start) holds a
/// <see cref="TestApp"/> in an xUnit class fixture.
/// </para>
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    private readonly List<HttpClient> _clients = [];
    private readonly List<Func<ValueTask>> _atEnd = [];
    private readonly List<Func<ValueTask>> _afterServer = [];
    private readonly Dictionary<string, string?> _settings;
    private SwitchboardFactory? _server;

    private TestApp(TestStore store, Dictionary<string, string?>? settings)
    {
        Store = store;
        _settings = settings ?? [];
    }

    /// <summary>
    /// A new store of <paramref name="kind"/> (with the Redis queue when <paramref name="redis"/>, on
    /// <paramref name="redisUri"/> when given),
    /// <paramref name="catalog"/> applied as an operator would; the server is configured with
    /// <paramref name="settings"/> on top of the test timings and starts when first used.
    /// </summary>
    public static async Task<TestApp> StartAsync(StoreKind kind, Dictionary<string, string?>? settings = null, string? catalog = null, bool redis = false, string? redisUri = null)
    {
        var app = new TestApp(TestStore.Create(kind, redis, redisUri), settings);
        if (catalog is not null)
        {
            await app.ApplyCatalogAsync(catalog);
        }
        return app;
    }

    public TestStore Store { get; }

    /// <summary>The server's settings on top of the test timings; changes count until the server starts (one naming a file in the store's folder, say).</summary>
    public IDictionary<string, string?> Settings => _server is null ? _settings : throw new InvalidOperationException("the server has started with its settings");

    /// <summary>The in-memory <c>serve</c> (api + executor + recon) on <see cref="Store"/>.</summary>
    public SwitchboardFactory Server => _server ??= new SwitchboardFactory(Store, _settings);

    public IServiceProvider Services => Server.Services;

    /// <summary>A new client with no API key, disposed with the app.</summary>
    public HttpClient CreateClient() => Track(Server.CreateClient());

    /// <summary>A client sending <paramref name="apiKey"/> (a made-up one, to test refusals), disposed with the app.</summary>
    public HttpClient ClientFor(string apiKey) => Track(Server.ClientFor(apiKey));

    /// <summary>Creates a user with <c>users create</c>, as an operator would.</summary>
    public async Task<TestUser> AddUserAsync(string name, long credits, params string[] more)
    {
        var user = await CliJsonAsync(["users", "create", name, "--credits", credits.ToString(System.Globalization.CultureInfo.InvariantCulture), .. more]);
        return new TestUser(this, user["id"]!.GetValue<string>(), user["api_key"]!.GetValue<string>());
    }

    /// <summary>Creates an admin with <c>users create NAME --admin</c> (and <paramref name="more"/> options).</summary>
    public async Task<TestUser> AddAdminAsync(string name = "root", params string[] more)
    {
        var user = await CliJsonAsync(["users", "create", name, "--admin", .. more]);
        return new TestUser(this, user["id"]!.GetValue<string>(), user["api_key"]!.GetValue<string>());
    }

    /// <summary>Applies a catalog with <c>catalog apply</c>; a running server sees it at <see cref="Refresh"/> or its next poll.</summary>
    public Task ApplyCatalogAsync(string yaml) => Cli.ApplyCatalog(Store, yaml);

    /// <summary>Runs <c>catalog apply</c> on <paramref name="yaml"/> written to a file, and returns how it ended (for catalogs a test expects refused).</summary>
    public async Task<(int Exit, string Out, string Err)> TryApplyCatalogAsync(string yaml)
    {
        var file = System.IO.Path.Combine(Store.Path, $"c-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, yaml);
        return await CliAsync("catalog", "apply", file);
    }

    /// <summary>Pushes and activates a version of an app config with <c>config push</c>.</summary>
    public Task PushConfigAsync(string id, string yaml) => Cli.PushConfig(Store, id, yaml);

    /// <summary>Runs a management command on this store.</summary>
    public Task<(int Exit, string Out, string Err)> CliAsync(params string[] args) => Cli.Run(Store, args);

    /// <summary>Runs a management command that must succeed and answer JSON.</summary>
    public Task<JsonObject> CliJsonAsync(params string[] args) => Cli.Json(Store, args);

    /// <summary>Reloads catalog and keys in the running server now instead of at its next poll.</summary>
    public void Refresh() => Server.Refresh();

    public T Query<T>(Func<DbConnection, T> read) => Store.Query(read);

    public long Balance(TestUser user) => Ledger.Balance(Store, user.Id);

    /// <summary>
    /// Disposes <paramref name="part"/> with the app, before the server and the store (a fake
    /// upstream, a real <c>serve</c> process on this store): last owned, first disposed. A part
    /// the server uses until it stops (a Redis server of the test's own) is disposed
    /// <paramref name="afterServer"/>, before the store.
    /// </summary>
    public T Own<T>(T part, bool afterServer = false) where T : IAsyncDisposable
    {
        (afterServer ? _afterServer : _atEnd).Add(part.DisposeAsync);
        return part;
    }

    /// <summary>Starts a real <c>serve</c> process (the built binary) on this store, stopped with the app.</summary>
    public async Task<SwitchboardProcess> StartServeAsync(params string[] args) => Own(await SwitchboardProcess.Start(Store, args));

    /// <summary>Starts one role (<c>api</c>, <c>executor</c>, <c>recon</c>…) as its own process on this store, stopped with the app.</summary>
    public async Task<SwitchboardProcess> StartRoleAsync(string role, string[] args, IDictionary<string, string>? environment = null) =>
        Own(await SwitchboardProcess.StartRole(Store, role, args, environment));

    /// <summary>Runs <paramref name="undo"/> when the app is disposed, before the server stops (a store outage ended, an environment variable removed).</summary>
    public void AtEnd(Action undo) => _atEnd.Add(() =>
    {
        undo();
        return ValueTask.CompletedTask;
    });

    private HttpClient Track(HttpClient client)
    {
        _clients.Add(client);
        return client;
    }

    /// <summary>
    /// Stops everything the test started, in reverse order, then the server, then disposes the
    /// store, which runs the credits audit once nothing writes any more and drops it.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        _clients.ForEach(c => c.Dispose());
        for (var i = _atEnd.Count - 1; i >= 0; i--)
        {
            await _atEnd[i]();
        }
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        for (var i = _afterServer.Count - 1; i >= 0; i--)
        {
            await _afterServer[i]();
        }
        await Store.DisposeAsync();
    }
}

/// <summary>A user of a <see cref="TestApp"/>: its id, API key, and a client sending that key (made when first used).</summary>
public sealed class TestUser(TestApp app, string id, string key)
{
    private HttpClient? _client;

    public string Id { get; } = id;

    public string Key { get; } = key;

    public HttpClient Client => _client ??= app.ClientFor(Key);

    /// <summary>The user's balance, read from the store.</summary>
    public long Balance => app.Balance(this);
}
