namespace Switchboard.Tests.Distributed;

/// <summary>
/// The distributed deployment's tests as OS processes: a store of their own on the PostgreSQL
/// and Redis that test.sh started, a catalog and a client with credits, and every process a test
/// starts (with short leases, so a killed process's work comes back within seconds, and the
/// executor's claims and ends in the debug log), all stopped at the end.
/// </summary>
public abstract class ProcessTestBase(string catalog) : IAsyncLifetime
{
    private static readonly Dictionary<string, string> Fast = new()
    {
        ["Switchboard__LeaseSeconds"] = "3",
        ["Switchboard__ReconInterval"] = "00:00:00.500",
        ["Switchboard__ReconLeaseSeconds"] = "3",
        ["Switchboard__ShutdownGrace"] = "00:00:05",
        ["Logging__LogLevel__Switchboard.Execution.JobRunner"] = "Debug",
    };

    private readonly List<SwitchboardProcess> _processes = [];

    protected TestStore Store { get; } = TestStore.Create(StoreKind.Postgres, redis: true);

    /// <summary>The client's API key and user id (alice, 10,000 credits).</summary>
    protected string Key { get; private set; } = "";

    protected string UserId { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await Infrastructure.Cli.ApplyCatalog(Store, catalog);
        (UserId, Key) = await Infrastructure.Cli.CreateUser(Store, "alice", 10_000);
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }
        await Store.DisposeAsync();
    }

    protected Task<SwitchboardProcess> Start(string role, params string[] args) => Start(role, new Dictionary<string, string>(), args);

    /// <summary>Starts a role with <paramref name="environment"/> on top of the short-lease settings.</summary>
    protected async Task<SwitchboardProcess> Start(string role, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var process = await SwitchboardProcess.StartRole(Store, role, args, new Dictionary<string, string>(Fast.Concat(environment)));
        _processes.Add(process);
        return process;
    }
}
