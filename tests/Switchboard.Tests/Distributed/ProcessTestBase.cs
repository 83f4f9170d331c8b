namespace Switchboard.Tests.Distributed;

/// <summary>
/// The distributed deployment's tests as OS processes: a store of their own on the PostgreSQL
/// and Redis that test.sh started, a catalog and a client with credits, and every process a test
/// starts (with short leases, so a killed process's work comes back within seconds, and the
/// executor's claims and ends in the debug log), all stopped at the end.
/// </summary>
public abstract class ProcessTestBase(string catalog) : AppTests
{
    private static readonly Dictionary<string, string> Fast = new()
    {
        ["Switchboard__LeaseSeconds"] = "3",
        ["Switchboard__ReconInterval"] = "00:00:00.500",
        ["Switchboard__ReconLeaseSeconds"] = "3",
        ["Switchboard__ShutdownGrace"] = "00:00:05",
        ["Logging__LogLevel__Switchboard.Execution.JobRunner"] = "Debug",
    };

    protected TestStore Store => App.Store;

    /// <summary>The client's API key and user id (alice, 10,000 credits).</summary>
    protected string Key { get; private set; } = "";

    protected string UserId { get; private set; } = "";

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Postgres, catalog: catalog, redis: true);
        var alice = await app.AddUserAsync("alice", 10_000);
        (UserId, Key) = (alice.Id, alice.Key);
        return app;
    }

    protected Task<SwitchboardProcess> Start(string role, params string[] args) => Start(role, new Dictionary<string, string>(), args);

    /// <summary>Starts a role with <paramref name="environment"/> on top of the short-lease settings; stopped with the app.</summary>
    protected async Task<SwitchboardProcess> Start(string role, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        // The test's own values win over the short-lease ones.
        var merged = new Dictionary<string, string>(Fast);
        foreach (var (key, value) in environment)
        {
            merged[key] = value;
        }
        return await App.StartRoleAsync(role, args, merged);
    }
}
