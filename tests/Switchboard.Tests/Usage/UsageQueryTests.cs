using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Usage;

namespace Switchboard.Tests.Usage;

/// <summary>The <c>usage</c> command and <c>GET /admin/api/usage</c> over stored usage.</summary>
public abstract class UsageQueryTests(StoreKind kind) : AppTests
{
    private string _alice = "", _bob = "";
    private DateTimeOffset _recent;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind);
        (_alice, _) = await Infrastructure.Cli.CreateUser(app.Store, "alice", 0);
        (_bob, _) = await Infrastructure.Cli.CreateUser(app.Store, "bob", 0);
        var now = DateTimeOffset.UtcNow;
        _recent = now.AddMinutes(-5);
        var recorder = new UsageRecorder();
        // Five minutes ago: alice 3 gpu calls, bob 1, alice 2 echo calls (one failed).
        recorder.Record("gpu", "openai.chat", _alice, 10, 20, false, TimeSpan.FromMilliseconds(100), _recent);
        recorder.Record("gpu", "openai.chat", _alice, 10, 20, false, TimeSpan.FromMilliseconds(300), _recent);
        recorder.Record("gpu", "openai.chat", _alice, 10, 20, true, TimeSpan.FromMilliseconds(200), _recent);
        recorder.Record("gpu", "openai.chat", _bob, 10, 20, false, TimeSpan.FromMilliseconds(400), _recent);
        recorder.Record(null, "echo.render", _alice, 0, 5, false, TimeSpan.FromMilliseconds(1), _recent);
        recorder.Record(null, "echo.render", _alice, 0, 5, true, TimeSpan.FromMilliseconds(2), _recent);
        // Three hours and three days ago.
        recorder.Record("gpu", "openai.chat", _alice, 10, 20, false, TimeSpan.FromMilliseconds(1000), now.AddHours(-3));
        recorder.Record(null, "echo.render", _bob, 0, 5, false, TimeSpan.FromMilliseconds(7), now.AddDays(-3));
        var flusher = new UsageFlusher(recorder, app.Store.Store, Options.Create(new SwitchboardOptions()), NullLogger<UsageFlusher>.Instance);
        Assert.True(await flusher.FlushAsync());
        return app;
    }

    private async Task<List<JsonObject>> Lines(params string[] args)
    {
        var (exit, output, error) = await App.CliAsync(["usage", .. args]);
        Assert.True(exit == 0, $"usage {string.Join(' ', args)} exited {exit}: {error}");
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => (JsonObject)JsonNode.Parse(line)!)];
    }

    private static string Summary(JsonObject row) => string.Join(' ', row.Select(p => $"{p.Key}={p.Value?.ToJsonString() ?? "null"}"));

    [Fact]
    public async Task TheCommandPrintsOneLinePerResourceAndHandlerOverTheLastDayByDefault()
    {
        var rows = await Lines();

        Assert.Equal(
            [
                "resource=null handler=\"echo.render\" calls=2 integration_credits=0 user_credits=10 errors=1 latency_avg_ms=1.5 latency_max_ms=2",
                "resource=\"gpu\" handler=\"openai.chat\" calls=5 integration_credits=50 user_credits=100 errors=1 latency_avg_ms=400 latency_max_ms=1000",
            ],
            rows.Select(Summary));
    }

    [Fact]
    public async Task SinceAndTheFiltersNarrowTheTotals()
    {
        var lastHour = await Lines("--since", "1h");
        var week = await Lines("--since", "7d");
        var gpu = await Lines("--resource", "gpu", "--since", "1h");
        var echo = await Lines("--handler", "echo.render", "--since", "7d");
        var nothing = await Lines("--handler", "no.such", "--since", "30m");

        Assert.Equal([2L, 4L], lastHour.Select(r => r["calls"]!.GetValue<long>()));
        Assert.Equal([3L, 5L], week.Select(r => r["calls"]!.GetValue<long>()));
        Assert.Equal(250, Assert.Single(gpu)["latency_avg_ms"]!.GetValue<double>());
        Assert.Equal(3, Assert.Single(echo)["calls"]!.GetValue<long>());
        Assert.Empty(nothing);
    }

    [Fact]
    public async Task PerUserAndPerMinuteRowsSayWhoAndWhen()
    {
        var alice = await Lines("--user", "alice", "--since", "1h");
        var perMinute = await Lines("--per-minute", "--since", "24h", "--handler", "openai.chat");

        Assert.Equal(
            [
                "resource=null handler=\"echo.render\" user=\"alice\" calls=2 integration_credits=0 user_credits=10 errors=1 latency_avg_ms=1.5 latency_max_ms=2",
                "resource=\"gpu\" handler=\"openai.chat\" user=\"alice\" calls=3 integration_credits=30 user_credits=60 errors=1 latency_avg_ms=200 latency_max_ms=300",
            ],
            alice.Select(Summary));
        Assert.Equal(2, perMinute.Count);
        Assert.True(string.CompareOrdinal(perMinute[0]["minute"]!.GetValue<string>(), perMinute[1]["minute"]!.GetValue<string>()) < 0);
        var last = perMinute[1];
        Assert.Equal(Clock.Iso(_recent.ToUnixTimeMilliseconds() / 60_000 * 60_000), last["minute"]!.GetValue<string>());
        Assert.Equal(4, last["calls"]!.GetValue<long>());
        Assert.Equal(["minute", "resource", "handler", "calls", "integration_credits", "user_credits", "errors", "latency_avg_ms", "latency_max_ms"], last.Select(p => p.Key));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("5x")]
    [InlineData("-1h")]
    [InlineData("")]
    [InlineData("99999999w")]
    public async Task ABadSinceIsAUsageError(string since)
    {
        var (exit, output, error) = await App.CliAsync("usage", "--since", since);

        Assert.Equal(2, exit);
        Assert.Empty(output);
        Assert.Contains($"--since must be a duration such as 30m, 1h, 24h or 7d, not '{since}'", error);
        Assert.Contains(" usage [options]", error); // the command's help, with the error (in process, the executable is the test host)
        Assert.Contains("--resource <R>", error);
    }

    [Fact]
    public async Task AnUnknownUserIsAnErrorNotAnEmptyAnswer()
    {
        var (exit, output, error) = await App.CliAsync("usage", "--user", "nobody");

        Assert.Equal(1, exit);
        Assert.Empty(output);
        Assert.Contains("no user named 'nobody'", error);
    }

    [Fact]
    public async Task TheAdminApiAnswersAdminsOnlyWithTheSameRows()
    {
        var admin = (await App.AddAdminAsync()).Client;
        var user = (await App.AddUserAsync("carol", 0)).Client;

        var all = await admin.GetFromJsonAsync<JsonObject>("/admin/api/usage");
        var mine = await admin.GetFromJsonAsync<JsonObject>("/admin/api/usage?user=alice&since=1h&resource=gpu&per_minute=true");
        var refused = await user.GetAsync("/admin/api/usage");
        var badSince = await admin.GetAsync("/admin/api/usage?since=soon");
        var noUser = await admin.GetAsync("/admin/api/usage?user=nobody");

        Assert.Equal((await Lines()).Select(Summary), all!["rows"]!.AsArray().Select(r => Summary(r!.AsObject())));
        var since = DateTimeOffset.Parse(all["since"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(DateTimeOffset.UtcNow - since, TimeSpan.FromHours(24), TimeSpan.FromHours(24) + TimeSpan.FromMinutes(2));
        var row = Assert.Single(mine!["rows"]!.AsArray())!.AsObject();
        Assert.Equal("alice", row["user"]!.GetValue<string>());
        Assert.Equal(3, row["calls"]!.GetValue<long>());
        Assert.NotNull(row["minute"]);
        await Problem(refused, HttpStatusCode.Forbidden, "admin_required");
        await Problem(badSince, HttpStatusCode.BadRequest, "invalid_since");
        await Problem(noUser, HttpStatusCode.NotFound, "user_not_found");
    }

}

public sealed class UsageQueryOnSqlite() : UsageQueryTests(StoreKind.Sqlite);

public sealed class UsageQueryOnPostgres() : UsageQueryTests(StoreKind.Postgres);
