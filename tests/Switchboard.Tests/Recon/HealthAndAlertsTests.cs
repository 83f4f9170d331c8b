namespace Switchboard.Tests.Recon;

/// <summary>
/// A whole <c>serve</c> process with the <c>recon</c> config pointing at a fake Discord webhook:
/// a request stuck behind a busy resource fires <c>oldest_queued</c> once and resolves it once;
/// <c>GET /admin/api/health</c> shows executors (from Redis heartbeats), queues, resources and
/// dependencies; a hanging webhook does not hold up recon's repairs.
/// </summary>
public sealed class HealthAndAlertsTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];
    private FakeOpenAi _upstream = null!;
    private FakeOpenAi _discord = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeOpenAi.StartAsync();
        _discord = await FakeOpenAi.StartAsync();
        _discord.Fallback = _ => FakeReply.Text(204, "");
    }

    public async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }
        await _upstream.DisposeAsync();
        await _discord.DisposeAsync();
    }

    private sealed record Setup(TestApp App, HttpClient User, HttpClient Admin);

    /// <summary>One resource with one slot, a handler on it whose upstream answers after <paramref name="upstreamDelay"/>, and the recon config.</summary>
    private async Task<Setup> Start(StoreKind kind, TimeSpan upstreamDelay, string alerts, bool redis = false, string? redisUri = null)
    {
        var app = await TestApp.StartAsync(kind, redis: redis, redisUri: redisUri);
        _owned.Add(app);
        var store = app.Store;
        if (store.ConfigPath is not null)
        {
            // The same bootstrap file, with a key for the webhook secret.
            store.WriteBootstrap(Path.GetFileName(store.ConfigPath), "", $"fernet_key: {Switchboard.Config.Fernet.GenerateKey()}");
        }
        _upstream.Fallback = _ => FakeReply.Choices("ok").After(upstreamDelay);
        await Infrastructure.Cli.PushOpenAiEndpoint(store, _upstream.BaseUrl);
        await app.ApplyCatalogAsync($$"""
            handlers:
              - {id: openai.chat, credits: 1, resource: api}
            offers:
              - {service: chat, action: ask, handler: openai.chat, price: 1, prompt_template: "Q {n}", params: {model: m} }
            """);
        await app.PushConfigAsync("resource_map", "resource_map:\n  api: {max_concurrent: 1, credits: 10}\n");
        await app.PushConfigAsync("recon", $"discord:\n  ~webhook: {_discord.Address}/api/webhooks/9/secret-token\nalerts: {alerts}\n");
        var alice = await app.AddUserAsync("alice", 1_000);
        var root = await app.AddAdminAsync();
        return new Setup(app, alice.Client, root.Client);
    }

    private static async Task<string> Submit(HttpClient user, int n)
    {
        return await user.SubmitAsync("/svc/chat/ask/", new { n });
    }

    private static async Task<JsonObject> Health(HttpClient admin)
    {
        var response = await admin.GetAsync("/admin/api/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private static JsonObject? QueueOf(JsonObject health, string list, string name) =>
        health["queues"]![list]!.AsArray().OfType<JsonObject>().FirstOrDefault(q => q["name"]!.GetValue<string>() == name);

    private static bool Firing(JsonObject health, string alert) =>
        health["alerts"]!["firing"]!.AsArray().Any(a => a!["alert"]!.GetValue<string>() == alert);

    [Fact]
    public async Task AStuckRequestFiresOldestQueuedOnceAndResolvesItOnce()
    {
        var s = await Start(StoreKind.Sqlite, TimeSpan.FromSeconds(3), "{oldest_queued_s: 1}");
        var first = await Submit(s.User, 1);
        await SwitchboardFactory.WaitFor(s.User, first, TimeSpan.FromSeconds(10), "running");
        var second = await Submit(s.User, 2);

        var firing = await s.Admin.WaitForHealth(h => Firing(h, "oldest_queued"), TimeSpan.FromSeconds(10));
        var alert = firing["alerts"]!["firing"]!.AsArray().Single()!;
        Assert.Equal("openai.chat", alert["subject"]!.GetValue<string>());
        Assert.Equal(1, QueueOf(firing, "by_handler", "openai.chat")!["depth"]!.GetValue<long>());
        Assert.Equal(1, QueueOf(firing, "by_resource", "api")!["depth"]!.GetValue<long>());

        await SwitchboardFactory.WaitForEnd(s.User, first);
        await SwitchboardFactory.WaitForEnd(s.User, second);
        var calls = await _discord.WaitForCalls(2, TimeSpan.FromSeconds(10));
        await Task.Delay(1_000); // time passes on purpose: no third message may come
        Assert.Equal(2, _discord.Calls.Count);
        Assert.StartsWith("[FIRING] oldest_queued openai.chat", calls[0].Json["content"]!.GetValue<string>());
        Assert.StartsWith("[RESOLVED] oldest_queued openai.chat", calls[1].Json["content"]!.GetValue<string>());
        Assert.Equal("/api/webhooks/9/secret-token", calls[0].Path);
        Assert.False(Firing(await Health(s.Admin), "oldest_queued"));
    }

    [Fact]
    public async Task HealthShowsExecutorsFromRedisHeartbeatsQueuesResourcesAndDependencies()
    {
        var s = await Start(StoreKind.Postgres, TimeSpan.FromSeconds(3), "{}", redis: true);
        // Another executor's heartbeat, as ExecutorHeartbeat writes it.
        var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServices.Redis);
        await using var _ = redis;
        var prefix = "{" + s.App.Store.RedisPrefix + "}";
        var other = new JsonObject { ["owner"] = "other:1", ["handlers"] = new JsonArray("echo.render"), ["version"] = "9.9.9", ["workers"] = 4, ["in_flight"] = 2, ["started_at"] = "2026-01-01T00:00:00.000Z" };
        await redis.GetDatabase().StringSetAsync($"{prefix}:executor:other:1", other.ToJsonString(), TimeSpan.FromMinutes(1));
        await redis.GetDatabase().SortedSetAddAsync($"{prefix}:executors", "other:1", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await redis.GetDatabase().SortedSetAddAsync($"{prefix}:executors", "dead:1", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000);

        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await Submit(s.User, i));
        }
        var health = await s.Admin.WaitForHealth(
            h => h["executors"]?["live"]?.GetValue<int>() == 2 && QueueOf(h, "by_handler", "openai.chat")?["depth"]?.GetValue<long>() == 2,
            TimeSpan.FromSeconds(15));

        var registry = health["executors"]!["registry"]!.AsArray().OfType<JsonObject>().ToList();
        var mine = registry.Single(e => e["owner"]!.GetValue<string>() != "other:1");
        Assert.Contains("openai.chat", mine["handlers"]!.AsArray().Select(h => h!.GetValue<string>()));
        Assert.Equal(16, mine["workers"]!.GetValue<int>());
        Assert.False(mine["in_process"]!.GetValue<bool>());
        var theOther = registry.Single(e => e["owner"]!.GetValue<string>() == "other:1");
        Assert.Equal("9.9.9", theOther["version"]!.GetValue<string>());
        Assert.Equal(2, theOther["in_flight"]!.GetValue<int>());
        Assert.Equal(["echo.render"], theOther["handlers"]!.AsArray().Select(h => h!.GetValue<string>()));

        Assert.Equal(2, QueueOf(health, "by_resource", "api")!["depth"]!.GetValue<long>());
        Assert.True(QueueOf(health, "by_handler", "openai.chat")!["oldest_age_s"]!.GetValue<double>() >= 0);
        Assert.True(health["dependencies"]!["store"]!["up"]!.GetValue<bool>());
        Assert.True(health["dependencies"]!["redis"]!["up"]!.GetValue<bool>());
        Assert.True(health["dependencies"]!["redis"]!["latency_ms"]!.GetValue<double>() >= 0);
        var resource = health["resources"]!.AsArray().Single()!;
        Assert.Equal("api", resource["name"]!.GetValue<string>());
        Assert.Equal(1, resource["in_use"]!.GetValue<long>());
        Assert.Equal(10, resource["credits"]!.GetValue<long>());
        Assert.Equal(300, health["errors"]!["window_s"]!.GetValue<long>());
        Assert.True(health["recon"]!["in_process"]!.GetValue<bool>());
        Assert.NotNull(health["alerts"]!["firing"]);

        foreach (var id in ids)
        {
            await SwitchboardFactory.WaitForEnd(s.User, id, TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task HealthIsForAdminsOnly()
    {
        var s = await Start(StoreKind.Sqlite, TimeSpan.Zero, "{}");
        var response = await s.User.GetAsync("/admin/api/health");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("admin_required", (await response.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
        var anonymous = await s.App.CreateClient().GetAsync("/admin/api/health");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        // The embedded executor is reported as one live executor, in process.
        var health = await Health(s.Admin);
        var executor = health["executors"]!["registry"]!.AsArray().Single()!;
        Assert.True(executor["in_process"]!.GetValue<bool>());
        Assert.Contains("openai.chat", executor["handlers"]!.AsArray().Select(h => h!.GetValue<string>()));
        Assert.Null(health["dependencies"]!["redis"]);
    }

    [Fact]
    public async Task AHangingWebhookDoesNotHoldUpRecon()
    {
        _discord.Fallback = _ => FakeReply.Text(204, "").After(TimeSpan.FromSeconds(60));
        var s = await Start(StoreKind.Sqlite, TimeSpan.FromSeconds(2), "{oldest_queued_s: 1}");
        var first = await Submit(s.User, 1);
        await SwitchboardFactory.WaitFor(s.User, first, TimeSpan.FromSeconds(10), "running");
        var second = await Submit(s.User, 2);
        await s.Admin.WaitForHealth(h => Firing(h, "oldest_queued"), TimeSpan.FromSeconds(10));
        await _discord.WaitForCalls(1, TimeSpan.FromSeconds(10));

        // While the webhook hangs, recon still repairs: a result past its expiration expires,
        // and the alert resolves (its message waits behind the hanging one).
        await SwitchboardFactory.WaitForEnd(s.User, first);
        s.App.Store.Query(c => c.Execute("UPDATE requests SET expires_at = 1 WHERE id = @id", ("@id", first)));
        await SwitchboardFactory.WaitFor(s.User, first, TimeSpan.FromSeconds(5), "expired");
        await SwitchboardFactory.WaitForEnd(s.User, second);
        await s.Admin.WaitForHealth(h => !Firing(h, "oldest_queued"), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task FailingCallsShowInTheErrorRateAndFireItsAlert()
    {
        var s = await Start(StoreKind.Sqlite, TimeSpan.Zero, "{error_rate: {percent: 50, window_s: 60, min_calls: 2}}");
        _upstream.Fallback = _ => FakeReply.Error(400, "bad request");
        var ids = new List<string> { await Submit(s.User, 1), await Submit(s.User, 2) };
        foreach (var id in ids)
        {
            Assert.Equal("failed", (await SwitchboardFactory.WaitForEnd(s.User, id))["status"]!.GetValue<string>());
        }

        var health = await s.Admin.WaitForHealth(h => Firing(h, "error_rate"), TimeSpan.FromSeconds(10));
        var errors = health["errors"]!["by_handler"]!.AsArray().Single()!;
        Assert.Equal("openai.chat", errors["handler"]!.GetValue<string>());
        Assert.Equal(100, errors["error_percent"]!.GetValue<double>());
        Assert.Equal(60, health["errors"]!["window_s"]!.GetValue<long>());
        var call = (await _discord.WaitForCalls(1, TimeSpan.FromSeconds(10)))[0];
        Assert.StartsWith("[FIRING] error_rate openai.chat: handler openai.chat failed 2 of 2 calls (100%)", call.Json["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task RedisGoingAwayFiresUnreachableAndItsReturnResolvesIt()
    {
        var redis = new RedisServerProcess(Directory.CreateTempSubdirectory("redis-").FullName);
        _owned.Add(redis);
        await redis.Start();
        var s = await Start(StoreKind.Postgres, TimeSpan.Zero, "{unreachable_s: 1}", redisUri: redis.Uri);
        await s.Admin.WaitForHealth(h => h["dependencies"]!["redis"]!["up"]!.GetValue<bool>(), TimeSpan.FromSeconds(10));

        await redis.Kill();
        var down = await s.Admin.WaitForHealth(h => Firing(h, "unreachable"), TimeSpan.FromSeconds(30));
        Assert.False(down["dependencies"]!["redis"]!["up"]!.GetValue<bool>());
        Assert.NotNull(down["dependencies"]!["redis"]!["down_since"]);
        Assert.True(down["dependencies"]!["store"]!["up"]!.GetValue<bool>());
        var fired = await _discord.WaitForCalls(1, TimeSpan.FromSeconds(10));
        Assert.StartsWith("[FIRING] unreachable redis: redis cannot be reached", fired[0].Json["content"]!.GetValue<string>());

        await redis.Start();
        await s.Admin.WaitForHealth(h => !Firing(h, "unreachable") && h["dependencies"]!["redis"]!["up"]!.GetValue<bool>(), TimeSpan.FromSeconds(30));
        var calls = await _discord.WaitForCalls(2, TimeSpan.FromSeconds(10));
        Assert.StartsWith("[RESOLVED] unreachable redis", calls[1].Json["content"]!.GetValue<string>());
    }
}
