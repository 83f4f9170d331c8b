using System.Globalization;
using System.Net.WebSockets;
using System.Text.RegularExpressions;

namespace Switchboard.Tests.Security;

/// <summary>
/// The live status WebSocket under hostile or careless use, against <c>serve</c> on real Kestrel
/// on both stores: a revoked key stops streaming, open channels are capped per user and per
/// process before the upgrade (and the places come back however a client leaves), and the
/// store reads the sockets cause are one batched query per batch of requests per tick.
/// </summary>
public abstract class LiveChannelTests(StoreKind kind) : AppTests
{
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: live, action: stuck, handler: echo.render, price: 1, prompt_template: "Stuck {n}", params: {delay_ms: 60000}}
        """);

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly List<ClientWebSocket> _sockets = [];
    private readonly string _metricsUrl = $"http://127.0.0.1:{SwitchboardProcess.FreePort()}";
    private SwitchboardProcess? _serve;
    private string _alice = "", _bob = "";

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: Catalog);
        _alice = (await app.AddUserAsync("alice", 1000)).Key;
        _bob = (await app.AddUserAsync("bob", 1000)).Key;
        return app;
    }

    public override async Task DisposeAsync()
    {
        _sockets.ForEach(s => s.Dispose());
        await base.DisposeAsync();
    }

    /// <summary>serve with a metrics listener (to read the live channel counters) and these settings.</summary>
    private async Task<SwitchboardProcess> Start(params string[] settings) =>
        _serve = await App.StartServeAsync(["--workers", "2", "--metrics-urls", _metricsUrl, .. settings]);

    private async Task<string> Submit(string key, int n)
    {
        using var client = _serve!.Client(key);
        var response = await client.PostAsJsonAsync("/svc/live/stuck/", new { n });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await SwitchboardFactory.IdOf(response);
    }

    private (ClientWebSocket Socket, Uri Uri) NewSocket(string id, string key)
    {
        var socket = new ClientWebSocket();
        _sockets.Add(socket);
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Authorization", $"Bearer {key}");
        return (socket, new UriBuilder(_serve!.Address!) { Scheme = "ws", Path = $"/svc/request/{id}/ws" }.Uri);
    }

    private async Task<ClientWebSocket> Connect(string id, string key)
    {
        var (socket, uri) = NewSocket(id, key);
        using var timeout = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(uri, timeout.Token);
        // The first message is the request object, sent at once.
        var buffer = new byte[64 * 1024];
        Assert.Equal(WebSocketMessageType.Text, (await socket.ReceiveAsync(buffer, timeout.Token)).MessageType);
        return socket;
    }

    /// <summary>A refused handshake: 429 before the upgrade, with Retry-After.</summary>
    private async Task AssertRefused(string id, string key)
    {
        var (socket, uri) = NewSocket(id, key);
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(uri, CancellationToken.None));
        Assert.Equal(HttpStatusCode.TooManyRequests, socket.HttpStatusCode);
        Assert.True(socket.HttpResponseHeaders!.ContainsKey("Retry-After"), "429 without Retry-After");
    }

    /// <summary>The values of unlabelled metrics of the serve process, read in one scrape (so they agree with each other).</summary>
    private async Task<double[]> Metrics(params string[] names)
    {
        using var scraper = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var text = await scraper.GetStringAsync(_metricsUrl + "/metrics");
        return [.. names.Select(name => Regex.Match(text, $"^{name} (\\S+)$", RegexOptions.Multiline) is { Success: true } match
            ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)
            : 0)];
    }

    private async Task<double> Metric(string name) => (await Metrics(name))[0];

    private Task WaitForOpenChannels(int count) =>
        Wait.ForValue(() => Metric("switchboard_live_channels_open"), count, Timeout, "switchboard_live_channels_open");

    [Fact]
    public async Task ARevokedKeysSocketIsClosedWith1008WhileItsRequestStillRuns()
    {
        await Start();
        var id = await Submit(_alice, 1);
        var socket = await Connect(id, _alice);

        var (exit, _, error) = await Infrastructure.Cli.Run(App.Store, "keys", "revoke", _alice[..11]);
        Assert.True(exit == 0, error);
        using var timeout = new CancellationTokenSource(Timeout);
        var buffer = new byte[64 * 1024];
        while ((await socket.ReceiveAsync(buffer, timeout.Token)).MessageType != WebSocketMessageType.Close)
        {
        }

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        // The request itself goes on: only the channel of the revoked key ended.
        Assert.Contains(App.Store.Query(c => c.Scalar<string>("SELECT status FROM requests WHERE id = @id", ("@id", id))), new[] { "queued", "running" });
        await WaitForOpenChannels(0);
    }

    [Fact]
    public async Task ThePerUserAndPerProcessCapsAnswer429BeforeTheUpgradeAndFreeUpWhenSocketsClose()
    {
        await Start("--Switchboard:LiveChannelsPerUser=2", "--Switchboard:LiveChannelsPerProcess=3");
        var id = await Submit(_alice, 1);
        var bobs = await Submit(_bob, 2);
        var first = await Connect(id, _alice);
        await Connect(id, _alice);
        await AssertRefused(id, _alice); // alice's 2 are taken
        await Connect(bobs, _bob);
        await AssertRefused(bobs, _bob); // bob has 1 of 2, but the process's 3 are taken
        await WaitForOpenChannels(3);
        Assert.Equal(2, await Metric("switchboard_live_channels_refused_total"));

        // A normal close gives alice's place back.
        using (var timeout = new CancellationTokenSource(Timeout))
        {
            await first.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
        }
        await WaitForOpenChannels(2);
        await Connect(id, _alice);

        // The refused answer is a problem with a stable code.
        using var http = new HttpClient { BaseAddress = _serve!.Address, Timeout = TimeSpan.FromSeconds(10) };
        using var upgrade = new HttpRequestMessage(HttpMethod.Get, $"/svc/request/{id}/ws");
        upgrade.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _alice);
        upgrade.Headers.Add("Connection", "Upgrade");
        upgrade.Headers.Add("Upgrade", "websocket");
        upgrade.Headers.Add("Sec-WebSocket-Version", "13");
        upgrade.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(Guid.NewGuid().ToByteArray()));
        var refused = await http.SendAsync(upgrade);
        await Problem(refused, HttpStatusCode.TooManyRequests, "too_many_live_channels");
    }

    [Fact]
    public async Task ClientsThatDropTheirConnectionsGiveTheirPlacesBack()
    {
        await Start("--Switchboard:LiveChannelsPerUser=3");
        var id = await Submit(_alice, 1);
        var dropped = new List<ClientWebSocket>();
        for (var i = 0; i < 3; i++)
        {
            dropped.Add(await Connect(id, _alice));
        }
        await AssertRefused(id, _alice);

        // No close frame: the TCP connections just end.
        dropped.ForEach(s => s.Abort());
        await WaitForOpenChannels(0);
        for (var i = 0; i < 3; i++)
        {
            await Connect(id, _alice);
        }
        await WaitForOpenChannels(3);
    }
}

public sealed class LiveChannelsOnSqlite() : LiveChannelTests(StoreKind.Sqlite);

public sealed class LiveChannelsOnPostgres() : LiveChannelTests(StoreKind.Postgres);

/// <summary>The live channel registry's counting and its options, without a server.</summary>
public sealed class LiveChannelRegistryTests
{
    private static Switchboard.Requests.LiveChannels Registry(int perUser, int perProcess) =>
        new(Microsoft.Extensions.Options.Options.Create(new Switchboard.Config.SwitchboardOptions { LiveChannelsPerUser = perUser, LiveChannelsPerProcess = perProcess }));

    [Fact]
    public void ALeaseDisposedTwiceGivesItsPlaceBackOnce()
    {
        var channels = Registry(perUser: 2, perProcess: 3);
        var a = channels.TryAcquire("u1")!;
        var b = channels.TryAcquire("u1")!;
        Assert.Null(channels.TryAcquire("u1"));
        var c = channels.TryAcquire("u2")!;
        Assert.Null(channels.TryAcquire("u3"));

        a.Dispose();
        a.Dispose();
        Assert.Equal(2, channels.Open);
        Assert.NotNull(channels.TryAcquire("u3"));
        Assert.Null(channels.TryAcquire("u1"));
        b.Dispose();
        c.Dispose();
        Assert.Equal(1, channels.Open);
    }

    [Theory]
    [InlineData(nameof(Switchboard.Config.SwitchboardOptions.LiveChannelsPerUser), 0)]
    [InlineData(nameof(Switchboard.Config.SwitchboardOptions.LiveChannelsPerProcess), 0)]
    public void OutOfRangeLimitsAreRefusedAtStart(string property, int value)
    {
        var options = new Switchboard.Config.SwitchboardOptions();
        typeof(Switchboard.Config.SwitchboardOptions).GetProperty(property)!.SetValue(options, value);
        var errors = new List<System.ComponentModel.DataAnnotations.ValidationResult>();

        Assert.False(System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), errors, validateAllProperties: true));
        Assert.Contains(errors, e => e.ErrorMessage!.Contains(property, StringComparison.Ordinal));
    }
}
