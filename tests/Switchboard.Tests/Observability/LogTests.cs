using System.Globalization;

namespace Switchboard.Tests.Observability;

/// <summary>
/// The logs of real server processes, read from their stdout: one JSON object per line with
/// timestamp, level, category and role, and the request id on every line about a request, so
/// one request can be followed across the api and executor processes. The management commands'
/// stdout stays their result alone.
/// </summary>
public sealed class LogTests : IAsyncLifetime
{
    private static readonly string Catalog = TestCatalogs.ShoutOnce;

    private static readonly Dictionary<string, string> DebugRequestLines = new()
    {
        ["Logging__LogLevel__Switchboard.Execution.JobRunner"] = "Debug",
        ["Logging__LogLevel__Switchboard.Requests.Api"] = "Debug",
    };

    private readonly List<SwitchboardProcess> _processes = [];
    private readonly List<TestStore> _stores = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task ServeWritesOnlyJsonLinesWithRoleAndTheRequestIdOnEveryLineAboutTheRequest()
    {
        var (store, key) = await NewStore(StoreKind.Sqlite, redis: false);
        var serve = await Start(store, "serve");

        var id = await SubmitAndWait(serve, key);
        await WaitUntil(() => Lines(serve).Any(e => Message(e).StartsWith("Ended " + id, StringComparison.Ordinal)), "the executor's Ended line");

        var lines = serve.StdoutLines.ToList();
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            var entry = Assert.IsType<JsonObject>(JsonNode.Parse(line));
            var stamp = entry["Timestamp"]!.GetValue<string>();
            Assert.EndsWith("Z", stamp, StringComparison.Ordinal);
            Assert.Equal(TimeSpan.Zero, DateTimeOffset.Parse(stamp, CultureInfo.InvariantCulture).Offset);
            Assert.Contains(entry["LogLevel"]!.GetValue<string>(), new[] { "Trace", "Debug", "Information", "Warning", "Error", "Critical" });
            Assert.False(string.IsNullOrEmpty(entry["Category"]!.GetValue<string>()));
            Assert.Equal("serve", entry["Role"]!.GetValue<string>());
            Assert.NotNull(entry["State"]?["{OriginalFormat}"]);
        }

        var about = Lines(serve).Where(e => RequestId(e) == id).ToList();
        Assert.Contains(about, e => Message(e).StartsWith("Claimed " + id, StringComparison.Ordinal));
        Assert.Contains(about, e => Message(e).StartsWith("Ended " + id, StringComparison.Ordinal));
        Assert.Contains(about, e => Message(e) == "POST /svc/text/shout/ answered 202");
        Assert.Contains(about, e => Message(e) == $"GET /svc/request/{id}/ answered 200");
        // No line mentions the request without carrying its id.
        Assert.All(Lines(serve).Where(e => Message(e).Contains(id, StringComparison.Ordinal)), e => Assert.Equal(id, RequestId(e)));
        // The executor's lines carry it as a scope too, for shippers that read scopes only.
        Assert.Contains(about, e => e["Scopes"]!.AsArray().Any(s => s?["request_id"]?.GetValue<string>() == id));
    }

    [Fact]
    public async Task OneRequestCanBeFollowedFromTheApiProcessToTheExecutorProcess()
    {
        var (store, key) = await NewStore(StoreKind.Postgres, redis: true);
        var api = await Start(store, "api");
        var executor = await Start(store, "executor");

        var id = await SubmitAndWait(api, key);
        await WaitUntil(() => Lines(executor).Any(e => RequestId(e) == id && Message(e).StartsWith("Ended ", StringComparison.Ordinal)), "the executor's Ended line");

        Assert.All(Lines(api), e => Assert.Equal("api", e["Role"]!.GetValue<string>()));
        Assert.All(Lines(executor), e => Assert.Equal("executor", e["Role"]!.GetValue<string>()));
        Assert.Contains(Lines(api), e => RequestId(e) == id && Message(e) == "POST /svc/text/shout/ answered 202");
        Assert.Contains(Lines(executor), e => RequestId(e) == id && Message(e).StartsWith("Claimed ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LogFormatTextWritesReadableLines()
    {
        var (store, _) = await NewStore(StoreKind.Sqlite, redis: false);
        var serve = await Start(store, "serve", "--log-format", "text");

        await WaitUntil(() => serve.StdoutLines.Any(l => l.Contains("Store ready", StringComparison.Ordinal)), "the Store ready line");
        Assert.All(serve.StdoutLines, l => Assert.False(l.StartsWith('{'), l));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info: ", serve.StdoutLines.First(l => l.Contains("Store ready", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AManagementCommandsStdoutIsOnlyItsJsonResult()
    {
        var (store, _) = await NewStore(StoreKind.Sqlite, redis: false);

        var (exit, output, error) = await Infrastructure.Cli.RunProcess(TimeSpan.FromSeconds(60), ["users", "create", "bob", "--credits", "5", .. store.ProcessArgs]);

        Assert.True(exit == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var user = Assert.IsType<JsonObject>(JsonNode.Parse(Assert.Single(lines)));
        Assert.Equal("bob", user["name"]!.GetValue<string>());
        Assert.StartsWith("sb_", user["api_key"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private async Task<(TestStore Store, string Key)> NewStore(StoreKind kind, bool redis)
    {
        var store = TestStore.Create(kind, redis);
        _stores.Add(store);
        await Infrastructure.Cli.ApplyCatalog(store, Catalog);
        var (_, key) = await Infrastructure.Cli.CreateUser(store, "alice", 100);
        return (store, key);
    }

    private async Task<SwitchboardProcess> Start(TestStore store, string role, params string[] args)
    {
        var process = await SwitchboardProcess.StartRole(store, role, args, DebugRequestLines);
        _processes.Add(process);
        return process;
    }

    /// <summary>Submits one request, reads it until it succeeded and returns its id.</summary>
    private static async Task<string> SubmitAndWait(SwitchboardProcess api, string key)
    {
        using var client = api.Client(key);
        var id = await client.SubmitAsync("/svc/text/shout/", new { word = "hello" });
        await WaitUntil(async () =>
        {
            var request = await client.GetFromJsonAsync<JsonObject>($"/svc/request/{id}/");
            return request!["status"]!.GetValue<string>() == "succeeded";
        }, "the request to succeed");
        return id;
    }

    private static List<JsonObject> Lines(SwitchboardProcess process) =>
        [.. process.StdoutLines.Select(l => (JsonObject)JsonNode.Parse(l)!)];

    private static string Message(JsonObject entry) => entry["Message"]?.GetValue<string>() ?? "";

    private static string? RequestId(JsonObject entry) => entry["RequestId"]?.GetValue<string>();

    private static Task WaitUntil(Func<bool> condition, string what) => Wait.Until(condition, TimeSpan.FromSeconds(30), what);

    private static Task WaitUntil(Func<Task<bool>> condition, string what) => Wait.Until(condition, TimeSpan.FromSeconds(30), what);
}
