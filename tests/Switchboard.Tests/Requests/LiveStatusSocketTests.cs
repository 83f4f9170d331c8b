using System.Net.WebSockets;
using System.Text;
using Switchboard.Config;
using Switchboard.Hosting;

namespace Switchboard.Tests.Requests;

/// <summary>
/// The live status WebSocket, <c>/svc/request/{id}/ws</c>, against <c>serve</c> on real Kestrel:
/// every change of an offer request or a deal is pushed, the last message is the finished
/// request exactly as GET shows it, and the server then closes normally; bad handshakes get the
/// same problems as the HTTP API.
/// </summary>
public abstract class LiveStatusSocketTests(StoreKind kind) : AppTests
{
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: live, action: slow, handler: echo.render, price: 2, prompt_template: "Slow {n}", params: {delay_ms: 700}}
          - {service: live, action: stuck, handler: echo.render, price: 2, prompt_template: "Stuck {n}", params: {delay_ms: 20000}}
          - {service: live, action: quick, handler: echo.render, price: 1, prompt_template: "Quick {n}"}
          - {service: live, action: pause, handler: echo.render, price: 1, prompt_template: "Pause {n}", params: {delay_ms: 3000}}
          - {service: live, action: next, handler: echo.render, price: 1, prompt_template: "Next[{input}]"}
        deals:
          - name: relay
            offers:
              - {offer: live/slow, pipeline: none}
              - {offer: live/next, pipeline: overwrite}
        """);

    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private TestUser _alice = null!, _bob = null!;

    protected TestStore Store => App.Store;

    protected SwitchboardProcess Serve { get; private set; } = null!;

    protected HttpClient Client { get; private set; } = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: Catalog);
        _alice = await app.AddUserAsync("alice", 1000);
        _bob = await app.AddUserAsync("bob", 1000);
        Serve = await app.StartServeAsync("--workers", "4");
        Client = Serve.Client(_alice.Key);
        return app;
    }

    protected async Task<string> Submit(string path, object body)
    {
        return await Client.SubmitAsync(path, body);
    }

    /// <summary>A socket not yet connected, keeping the handshake's answer, and the address of <paramref name="id"/>'s live status.</summary>
    private (ClientWebSocket Socket, Uri Uri) NewSocket(string id, string key)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Authorization", $"Bearer {key}");
        return (socket, new UriBuilder(Serve.Address!) { Scheme = "ws", Path = $"/svc/request/{id}/ws" }.Uri);
    }

    protected async Task<ClientWebSocket> Connect(string id)
    {
        var (socket, uri) = NewSocket(id, _alice.Key);
        using var timeout = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(uri, timeout.Token);
        return socket;
    }

    /// <summary>Every message until the server closes the socket; fails after <see cref="Timeout"/>.</summary>
    protected static Task<List<JsonObject>> ReadToClose(ClientWebSocket socket) => LiveSockets.ReadToClose(socket, Timeout);

    protected static string Status(JsonObject request) => request["status"]!.GetValue<string>();

    /// <summary>No two messages in a row are the same: each says something new.</summary>
    private static void EachSaysSomethingNew(List<JsonObject> messages)
    {
        for (var i = 1; i < messages.Count; i++)
        {
            Assert.False(JsonNode.DeepEquals(messages[i - 1], messages[i]), $"message {i} repeats message {i - 1}");
        }
    }

    [Fact]
    public async Task AnOfferRequestIsFollowedUntilItSucceedsThenTheSocketClosesNormally()
    {
        var id = await Submit("/svc/live/slow/", new { n = 1 });
        using var socket = await Connect(id);
        var messages = await ReadToClose(socket);

        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        Assert.Equal("succeeded", socket.CloseStatusDescription);
        // 700 ms of work read every 50 ms: the running state is seen before the end.
        Assert.Contains(messages, m => Status(m) == "running");
        Assert.Equal("succeeded", Status(messages[^1]));
        Assert.All(messages, m => Assert.Equal(id, m["id"]!.GetValue<string>()));
        EachSaysSomethingNew(messages);
        var got = await SwitchboardFactory.Get(Client, id);
        Assert.True(JsonNode.DeepEquals(got, messages[^1]), $"last message {messages[^1].ToJsonString()} differs from GET {got.ToJsonString()}");
        Assert.Equal(["Slow 1 #1"], got["results"]!.AsArray().Select(r => r!.GetValue<string>()));
    }

    [Fact]
    public async Task ADealsStepsArePushedAsTheyChange()
    {
        var id = await Submit("/svc/deal/relay/", new { inputs = new { n = 7 } });
        using var socket = await Connect(id);
        var messages = await ReadToClose(socket);

        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        Assert.Equal("succeeded", Status(messages[^1]));
        EachSaysSomethingNew(messages);
        // The second step waited for the first: some message shows it waiting while the first ran.
        Assert.Contains(messages, m => m["steps"]!.AsArray() is [var first, var second]
            && Status(first!.AsObject()) == "running" && Status(second!.AsObject()) == "waiting");
        var got = await SwitchboardFactory.Get(Client, id);
        Assert.True(JsonNode.DeepEquals(got, messages[^1]), $"last message {messages[^1].ToJsonString()} differs from GET {got.ToJsonString()}");
        Assert.Equal(["Next[Slow 7 #1] #1"], got["steps"]![1]!["results"]!.AsArray().Select(r => r!.GetValue<string>()));
    }

    [Fact]
    public async Task ACancelIsPushedAndEndsTheSocket()
    {
        var id = await Submit("/svc/live/stuck/", new { n = 2 });
        using var socket = await Connect(id);
        var reading = ReadToClose(socket);
        await SwitchboardFactory.WaitFor(Client, id, Timeout, "running");
        Assert.Equal(HttpStatusCode.OK, (await Client.DeleteAsync($"/svc/request/{id}/")).StatusCode);
        var messages = await reading;

        Assert.Equal("cancelled", Status(messages[^1]));
        Assert.Equal("cancelled", socket.CloseStatusDescription);
    }

    [Fact]
    public async Task AFinishedRequestIsSentOnceAndClosedAtOnce()
    {
        var id = await Submit("/svc/live/quick/", new { n = 3 });
        await SwitchboardFactory.WaitFor(Client, id, Timeout, "succeeded");
        using var socket = await Connect(id);
        var messages = await ReadToClose(socket);

        var only = Assert.Single(messages);
        Assert.Equal("succeeded", Status(only));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    [Fact]
    public async Task AClientThatClosesFirstIsLetGo()
    {
        var id = await Submit("/svc/live/stuck/", new { n = 4 });
        using var socket = await Connect(id);
        using var timeout = new CancellationTokenSource(Timeout);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
        Assert.Equal(WebSocketState.Closed, socket.State);
        // The server still answers, and the request goes on regardless.
        Assert.Equal("running", Status(await SwitchboardFactory.WaitFor(Client, id, Timeout, "running")));
    }

    [Fact]
    public async Task AServerThatStopsSaysSoAndExitsCleanly()
    {
        var id = await Submit("/svc/live/stuck/", new { n = 8 });
        using var socket = await Connect(id);
        var reading = ReadToClose(socket);
        await SwitchboardFactory.WaitFor(Client, id, Timeout, "running");

        Assert.Equal(0, await Serve.Terminate(Timeout));
        await reading;
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, socket.CloseStatus);
    }

    [Fact]
    public async Task AnotherUsersRequestIsRefusedBeforeTheUpgradeLikeAMissingOne()
    {
        var id = await Submit("/svc/live/quick/", new { n = 5 });
        foreach (var (target, key) in new[] { (id, _bob.Key), ("0123456789abcdef0123456789abcdef", _alice.Key) })
        {
            var (socket, uri) = NewSocket(target, key);
            using (socket)
            {
                await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(uri, CancellationToken.None));
                Assert.Equal(HttpStatusCode.NotFound, socket.HttpStatusCode);
            }
        }
    }

    [Theory]
    [InlineData("/svc/request/{id}/ws", true, 400, "websocket_required")]
    [InlineData("/svc/request/not-an-id/ws", true, 400, "invalid_request_id")]
    [InlineData("/svc/request/{id}/ws", false, 401, "missing_api_key")]
    public async Task APlainHttpCallGetsAProblem(string path, bool withKey, int status, string code)
    {
        var id = await Submit("/svc/live/quick/", new { n = 6 });
        using var client = withKey ? Serve.Client(_alice.Key) : new HttpClient { BaseAddress = Serve.Address };
        var response = await client.GetAsync(path.Replace("{id}", id, StringComparison.Ordinal));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(code, (await response.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
    }
}

public sealed class LiveStatusSocketOnSqlite() : LiveStatusSocketTests(StoreKind.Sqlite);

public sealed class LiveStatusSocketOnPostgres() : LiveStatusSocketTests(StoreKind.Postgres)
{
    [Fact]
    public async Task ASocketOutlivesAStoreOutageAndStillSeesTheEnd()
    {
        var id = await Submit("/svc/live/pause/", new { n = 9 });
        using var socket = await Connect(id);
        var reading = ReadToClose(socket);
        await SwitchboardFactory.WaitFor(Client, id, Timeout, "running");

        // The handler sleeps 3 s; the store is gone for 1 s of it.
        Store.SetConnections(allowed: false);
        await Task.Delay(1000); // the outage's length, on purpose
        Store.SetConnections(allowed: true);
        var messages = await reading;

        Assert.Equal("succeeded", Status(messages[^1]));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        // Nothing reads the store for an idle socket; a change arriving during the outage makes it
        // read, retry every 500 ms and log once for the outage, never once per failed read.
        Assert.InRange(Serve.Logs.Count(e => e["Message"]?.GetValue<string>().StartsWith($"Live status of request {id}", StringComparison.Ordinal) == true), 0, 1);
    }
}
