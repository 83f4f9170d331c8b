using System.Net;
using System.Net.Http.Json;

namespace Switchboard.Tests.Webhooks;

/// <summary>
/// Completion webhooks against the in-memory <c>serve</c> on both stores, delivered to a Node
/// receiver that verifies each signature with the npm <c>standardwebhooks</c> package: endpoint
/// secrets and the user's own (one-off header), retries until a receiver recovers, 410, the
/// retry window, resend, rotation, and the bad inputs the endpoints refuse.
/// </summary>
public abstract class WebhookTests(StoreKind kind) : AppTests
{
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: text, action: shout, handler: echo.render, price: 5, prompt_template: "Say {word}"}
          - {service: text, action: broken, handler: echo.render, price: 3, prompt_template: "Never {word}", params: {fail: "no"}}
          - {service: text, action: slow, handler: echo.render, price: 2, prompt_template: "Later {word}", params: {delay_ms: 30000}}
          - {service: text, action: brief, handler: echo.render, price: 1, prompt_template: "Brief {word}", expiration: 1}
        deals:
          - name: pair
            offers:
              - {offer: text/shout, pipeline: none}
              - {offer: text/shout, pipeline: none}
        """);

    protected TestUser Alice { get; private set; } = null!;

    protected TestUser Bob { get; private set; } = null!;

    protected WebhookReceiver Receiver { get; private set; } = null!;

    /// <summary>Test timings: prompt polls, short retries; http to the loopback receiver is allowed explicitly.</summary>
    protected virtual Dictionary<string, string?> Settings => new()
    {
        ["Switchboard:Webhooks:AllowHttp"] = "true",
        ["Switchboard:Webhooks:PollInterval"] = "00:00:00.100",
        ["Switchboard:Webhooks:FirstRetryDelay"] = "00:00:00.050",
        ["Switchboard:Webhooks:MaxRetryDelay"] = "00:00:00.200",
        ["Switchboard:Webhooks:RetryWindow"] = "00:00:03",
        ["Switchboard:Webhooks:RequestTimeout"] = "00:00:05",
        ["Switchboard:Webhooks:Lease"] = "00:00:10",
    };

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, Settings, Catalog);
        Alice = await app.AddUserAsync("alice", 1000);
        Bob = await app.AddUserAsync("bob", 1000);
        Receiver = app.Own(await WebhookReceiver.StartAsync());
        return app;
    }

    /// <summary>Registers an endpoint for <paramref name="user"/> and gives the receiver its secret.</summary>
    protected async Task<(string Id, string Secret)> Register(TestUser user, string name, string query = "", params string[] events)
    {
        var response = await user.Client.PostAsJsonAsync("/svc/me/webhooks", new { url = Receiver.Url(name, query), events = events.Length > 0 ? events : ["request.succeeded", "request.failed", "deal.succeeded"] });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var secret = body["secret"]!.GetValue<string>();
        Assert.StartsWith("whsec_", secret);
        await Receiver.SetSecretsAsync(name, secret);
        return (body["id"]!.GetValue<string>(), secret);
    }

    private async Task<JsonObject> Deliveries(TestUser user, string endpoint) =>
        (await user.Client.GetFromJsonAsync<JsonObject>($"/svc/me/webhooks/{endpoint}/deliveries"))!;

    /// <summary>The status of the endpoint's one event; "" before it is written.</summary>
    private async Task<string> EventStatus(TestUser user, string endpoint) =>
        (await Deliveries(user, endpoint))["events"]!.AsArray().SingleOrDefault()?["status"]!.GetValue<string>() ?? "";

    [Fact]
    public async Task AFinishedRequestsEventArrivesVerifiedWithTheRequestAsGetShowsIt()
    {
        var (endpoint, _) = await Register(Alice, "a");
        var id = await Alice.Client.SubmitAsync("/svc/text/shout/", new { word = "owls" });
        var request = await Alice.Client.WaitForRequest(id, r => r["status"]!.GetValue<string>() == "succeeded");

        var log = await Receiver.WaitForAsync(l => l.Count >= 1, "one delivery");
        var delivery = Assert.Single(log);
        Assert.True(delivery["verified"]!.GetValue<bool>());
        Assert.Equal($"msg_{id}_1_succeeded_{endpoint}", delivery["id"]!.GetValue<string>());
        var payload = delivery["payload"]!;
        Assert.Equal("request.succeeded", payload["type"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(request, payload["data"]), $"payload {payload["data"]} vs GET {request}");

        var events = await Wait.For(() => Deliveries(Alice, endpoint), d => d["events"]![0]!["status"]!.GetValue<string>() == "delivered", TimeSpan.FromSeconds(10), "the log to say delivered");
        var attempt = Assert.Single(events["events"]![0]!["deliveries"]!.AsArray())!;
        Assert.Equal("delivered", attempt["outcome"]!.GetValue<string>());
        Assert.Equal(204, attempt["status_code"]!.GetValue<int>());
    }

    [Fact]
    public async Task OnlySubscribedEventsOfTheUsersOwnEndpointsAreWrittenAndAFailedDealGetsItsEvent()
    {
        var (endpoint, _) = await Register(Alice, "a", "", "request.failed", "deal.succeeded");
        await Register(Bob, "b", "", "request.succeeded");
        var shout = await Alice.Client.SubmitAsync("/svc/text/shout/", new { word = "x" });
        var broken = await Alice.Client.SubmitAsync("/svc/text/broken/", new { word = "y" });
        var deal = await Alice.Client.SubmitAsync("/svc/deal/pair/", new { inputs = new { word = "z" } });
        foreach (var id in new[] { shout, broken, deal })
        {
            await Alice.Client.WaitForRequest(id, r => r["status"]!.GetValue<string>() is "succeeded" or "failed");
        }
        var log = await Receiver.WaitForAsync(l => l.Count >= 2, "two deliveries");
        await Task.Delay(500);
        log = await Receiver.LogAsync();
        Assert.Equal(["deal.succeeded", "request.failed"], log.Select(l => l["payload"]!["type"]!.GetValue<string>()).Order());
        Assert.All(log, l => Assert.True(l["verified"]!.GetValue<bool>()));
        Assert.All(log, l => Assert.Equal("a", l["name"]!.GetValue<string>()));
        Assert.Equal(deal, log.Single(l => l["payload"]!["type"]!.GetValue<string>() == "deal.succeeded")["payload"]!["data"]!["id"]!.GetValue<string>());
        Assert.Equal(2, (await Deliveries(Alice, endpoint))["events"]!.AsArray().Count);
    }

    [Fact]
    public async Task TheOneOffHeaderIsSignedWithTheUsersSecretAndADuplicateSubmitKeepsTheFirstWebhook()
    {
        var secret = (await (await Alice.Client.PostAsJsonAsync("/svc/me/webhooks/secret", new { })).Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>();
        await Receiver.SetSecretsAsync("first", secret);
        await Receiver.SetSecretsAsync("second", secret);
        var id = await Submit(Alice, "/svc/text/slow/", new { word = "w" }, Receiver.Url("first"), HttpStatusCode.Accepted);
        // The same request again (same inputs, same user) with another webhook: the live request is returned, its webhook unchanged.
        await Submit(Alice, "/svc/text/slow/", new { word = "w" }, Receiver.Url("second"), HttpStatusCode.OK);
        Assert.Equal(Receiver.Url("first"), App.Query(c => c.Scalar<string>("SELECT webhook_url FROM requests WHERE id = @id", ("@id", id))));
        Assert.Equal(HttpStatusCode.OK, (await Alice.Client.DeleteAsync($"/svc/request/{id}/")).StatusCode);

        var log = await Receiver.WaitForAsync(l => l.Count >= 1, "the cancel's delivery");
        await Task.Delay(300);
        var delivery = Assert.Single(await Receiver.LogAsync());
        Assert.Equal("first", delivery["name"]!.GetValue<string>());
        Assert.True(delivery["verified"]!.GetValue<bool>());
        Assert.Equal("request.cancelled", delivery["payload"]!["type"]!.GetValue<string>());
        Assert.Equal($"msg_{id}_1_cancelled_once", delivery["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AFinishedRequestSubmittedAgainTakesTheNewSubmitsWebhook()
    {
        var secret = (await (await Alice.Client.PostAsJsonAsync("/svc/me/webhooks/secret", new { })).Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>();
        await Receiver.SetSecretsAsync("run1", secret);
        await Receiver.SetSecretsAsync("run2", secret);
        var id = await Submit(Alice, "/svc/text/broken/", new { word = "r" }, Receiver.Url("run1"), HttpStatusCode.Accepted);
        await Alice.Client.WaitForRequest(id, r => r["status"]!.GetValue<string>() == "failed");
        Assert.Equal(id, await Submit(Alice, "/svc/text/broken/", new { word = "r" }, Receiver.Url("run2"), HttpStatusCode.Accepted));
        await Alice.Client.WaitForRequest(id, r => r["status"]!.GetValue<string>() == "failed" && r["run"]!.GetValue<int>() == 2);
        var log = await Receiver.WaitForAsync(l => l.Count >= 2, "one delivery per run");
        Assert.Equal([("run1", $"msg_{id}_1_failed_once"), ("run2", $"msg_{id}_2_failed_once")],
            log.Select(e => (e["name"]!.GetValue<string>(), e["id"]!.GetValue<string>())).Order());
        Assert.All(log, e => Assert.True(e["verified"]!.GetValue<bool>()));
        Assert.All(log, e => Assert.Equal("request.failed", e["payload"]!["type"]!.GetValue<string>()));
    }

    private static Task<JsonObject> Is(HttpResponseMessage response, int status, string code) =>
        ProblemAssert.Problem(response, (HttpStatusCode)status, code);

    private static async Task<string> Submit(TestUser user, string path, object body, string webhook, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("Switchboard-Webhook", webhook);
        var response = await user.Client.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
    }

    [Fact]
    public async Task AReceiverThatFailsFiveTimesThenSucceedsGetsTheEventUnderOneWebhookId()
    {
        var (endpoint, _) = await Register(Alice, "flaky", "fail=5");
        var id = await Alice.Client.SubmitAsync("/svc/text/shout/", new { word = "again" });
        var log = await Receiver.WaitForAsync(l => l.Any(e => e["status"]!.GetValue<int>() == 204), "the sixth attempt to be accepted");
        Assert.Equal(6, log.Count);
        Assert.All(log, e => Assert.Equal($"msg_{id}_1_succeeded_{endpoint}", e["id"]!.GetValue<string>()));
        Assert.All(log, e => Assert.True(e["verified"]!.GetValue<bool>()));
        Assert.Equal([500, 500, 500, 500, 500, 204], log.Select(e => e["status"]!.GetValue<int>()));
        var events = await Wait.For(() => Deliveries(Alice, endpoint), d => d["events"]![0]!["status"]!.GetValue<string>() == "delivered", TimeSpan.FromSeconds(10), "delivered");
        var attempts = events["events"]![0]!["deliveries"]!.AsArray();
        Assert.Equal([1, 2, 3, 4, 5, 6], attempts.Select(a => a!["attempt"]!.GetValue<int>()));
        Assert.Equal(["failed", "failed", "failed", "failed", "failed", "delivered"], attempts.Select(a => a!["outcome"]!.GetValue<string>()));
    }

    [Fact]
    public async Task RetriesStopWhenTheWindowIsOverAndTheEventIsFailed()
    {
        var (endpoint, _) = await Register(Alice, "down", "fail=100000");
        await Alice.Client.SubmitAsync("/svc/text/shout/", new { word = "void" });
        await Wait.Until(async () => await EventStatus(Alice, endpoint) == "failed", TimeSpan.FromSeconds(20), "the event to be failed after the 3 s window");
        var attempts = (await Deliveries(Alice, endpoint))["events"]![0]!["deliveries"]!.AsArray();
        Assert.True(attempts.Count >= 3, $"{attempts.Count} attempts");
        Assert.All(attempts, a => Assert.Equal(500, a!["status_code"]!.GetValue<int>()));
        var seen = (await Receiver.LogAsync()).Count;
        await Task.Delay(800);
        Assert.Equal(seen, (await Receiver.LogAsync()).Count);
    }

    [Fact]
    public async Task AnExpiredRequestsEventSaysExpired()
    {
        var (endpoint, _) = await Register(Alice, "exp", "", "request.expired");
        var id = await Alice.Client.SubmitAsync("/svc/text/brief/", new { word = "soon" });
        var log = await Receiver.WaitForAsync(l => l.Count >= 1, "the expiry's delivery");
        var delivery = Assert.Single(log);
        Assert.Equal($"msg_{id}_1_expired_{endpoint}", delivery["id"]!.GetValue<string>());
        Assert.Equal("request.expired", delivery["payload"]!["type"]!.GetValue<string>());
        Assert.Equal("expired", delivery["payload"]!["data"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A410DisablesTheEndpointAndItsEventFails()
    {
        var (endpoint, _) = await Register(Alice, "gone", "gone=1");
        await Alice.Client.SubmitAsync("/svc/text/shout/", new { word = "bye" });
        await Receiver.WaitForAsync(l => l.Count >= 1, "the delivery answered 410");
        var view = await Wait.For(() => Alice.Client.GetFromJsonAsync<JsonObject>($"/svc/me/webhooks/{endpoint}")!, v => !v!["enabled"]!.GetValue<bool>(), TimeSpan.FromSeconds(10), "the endpoint to be disabled");
        Assert.Contains("410", view!["disabled_reason"]!.GetValue<string>());
        Assert.Equal("failed", await EventStatus(Alice, endpoint));
        // Disabled: a later request writes no event for it.
        var next = await Alice.Client.SubmitAsync("/svc/text/shout/", new { word = "later" });
        await Alice.Client.WaitForRequest(next, r => r["status"]!.GetValue<string>() == "succeeded");
        Assert.Single((await Deliveries(Alice, endpoint))["events"]!.AsArray());
    }

    [Fact]
    public async Task ResendMakesANewAttemptOfTheSameEvent()
    {
        var (endpoint, _) = await Register(Alice, "r");
        var id = await Alice.Client.SubmitAsync("/svc/text/shout/", new { word = "twice" });
        await Receiver.WaitForAsync(l => l.Count >= 1, "the first delivery");
        var eventId = $"msg_{id}_1_succeeded_{endpoint}";
        await Wait.Until(async () => await EventStatus(Alice, endpoint) == "delivered", TimeSpan.FromSeconds(10), "delivered");
        var resend = await Alice.Client.PostAsync($"/svc/me/webhooks/{endpoint}/deliveries/{eventId}/resend", null);
        Assert.Equal(HttpStatusCode.Accepted, resend.StatusCode);
        var log = await Receiver.WaitForAsync(l => l.Count >= 2, "the resent delivery");
        Assert.All(log, e => Assert.Equal(eventId, e["id"]!.GetValue<string>()));
        var attempts = (await Wait.For(() => Deliveries(Alice, endpoint), d => d["events"]![0]!["deliveries"]!.AsArray().Count == 2 && d["events"]![0]!["status"]!.GetValue<string>() == "delivered",
            TimeSpan.FromSeconds(10), "two attempts"))["events"]![0]!["deliveries"]!.AsArray();
        Assert.Equal([1, 2], attempts.Select(a => a!["attempt"]!.GetValue<int>()));
        // By a delivery's id too; an unknown one is 404.
        var byDelivery = await Alice.Client.PostAsync($"/svc/me/webhooks/{endpoint}/deliveries/{attempts[0]!["id"]}/resend", null);
        Assert.Equal(HttpStatusCode.Accepted, byDelivery.StatusCode);
        await Is(await Alice.Client.PostAsync($"/svc/me/webhooks/{endpoint}/deliveries/msg_nope/resend", null), 404, "webhook_event_not_found");
    }

    [Fact]
    public async Task ARotatedSecretSignsBesideTheOldOneAndSecretsAreShownOnce()
    {
        var (endpoint, old) = await Register(Alice, "old");
        var list = await Alice.Client.GetStringAsync("/svc/me/webhooks");
        var one = await Alice.Client.GetStringAsync($"/svc/me/webhooks/{endpoint}");
        Assert.DoesNotContain(old, list + one);
        Assert.DoesNotContain("secret", list + one);
        var rotated = (await (await Alice.Client.PostAsync($"/svc/me/webhooks/{endpoint}/rotate", null)).Content.ReadFromJsonAsync<JsonObject>())!;
        var fresh = rotated["secret"]!.GetValue<string>();
        Assert.NotEqual(old, fresh);
        // Receivers holding either secret verify during the grace period.
        var response = await Alice.Client.PatchAsJsonAsync($"/svc/me/webhooks/{endpoint}", new { url = Receiver.Url("new") });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Receiver.SetSecretsAsync("new", fresh);
        await Alice.Client.SubmitAsync("/svc/text/shout/", new { word = "n" });
        await Alice.Client.PatchAsJsonAsync($"/svc/me/webhooks/{endpoint}", new { url = Receiver.Url("old") });
        var log = await Receiver.WaitForAsync(l => l.Count >= 1, "a delivery");
        await Alice.Client.SubmitAsync("/svc/text/shout/", new { word = "o" });
        log = await Receiver.WaitForAsync(l => l.Count >= 2, "two deliveries");
        Assert.All(log, e => Assert.True(e["verified"]!.GetValue<bool>(), e.ToJsonString()));
        Assert.All(log, e => Assert.Equal(2, e["signature"]!.GetValue<string>().Split(' ').Length));
        // Rotated again without keeping the previous one (a leak): one signature, the newest secret's.
        Assert.Equal(HttpStatusCode.OK, (await Alice.Client.PostAsJsonAsync($"/svc/me/webhooks/{endpoint}/rotate", new { keep_previous = false })).StatusCode);
        await Receiver.SetSecretsAsync("old", fresh);
        await Alice.Client.SubmitAsync("/svc/text/shout/", new { word = "p" });
        log = await Receiver.WaitForAsync(l => l.Count >= 3, "a third delivery");
        Assert.Single(log[2]["signature"]!.GetValue<string>().Split(' '));
        Assert.False(log[2]["verified"]!.GetValue<bool>());
        await Is(await Alice.Client.PostAsJsonAsync("/svc/me/webhooks/secret", new { keep_previous = "no" }), 400, "invalid_webhook");
        await Is(await Alice.Client.PostAsync("/svc/me/webhooks/secret", null), 415, "unsupported_media_type");

        // Secrets are sealed in the store with the bootstrap's Fernet key (the embedded SQLite
        // default makes one): neither appears there in clear. The PostgreSQL test bootstrap has
        // no key, and the store says so (docs/security.md).
        var stored = App.Query(c => c.Scalar<string>("SELECT secret || ' ' || previous_secret FROM webhook_endpoints WHERE id = @id", ("@id", endpoint)))!;
        if (kind == StoreKind.Sqlite)
        {
            Assert.DoesNotContain(old, stored);
            Assert.DoesNotContain(fresh, stored);
            Assert.All(stored.Split(' '), s => Assert.StartsWith("gAAAAA", s));
        }
        else
        {
            Assert.All(stored.Split(' '), s => Assert.StartsWith("plain:whsec_", s));
        }
    }

    [Fact]
    public async Task BadInputsAreRefusedWithProblems()
    {
        async Task Refused(object body, int status, string code) =>
            await Is(await Alice.Client.PostAsJsonAsync("/svc/me/webhooks", body), status, code);
        var events = new[] { "request.succeeded" };
        await Refused(new { url = "ftp://example.com/hook", events }, 400, "invalid_webhook_url");
        await Refused(new { url = "https://user:pw@example.com/hook", events }, 400, "invalid_webhook_url");
        await Refused(new { url = "https://example.com/" + new string('a', 3000), events }, 400, "invalid_webhook_url");
        await Refused(new { url = "not a url", events }, 400, "invalid_webhook_url");
        await Refused(new { url = "https://10.1.2.3/hook", events }, 400, "webhook_url_refused");
        await Refused(new { url = "https://169.254.169.254/latest", events }, 400, "webhook_url_refused");
        await Refused(new { url = "https://[::ffff:192.168.1.1]/hook", events }, 400, "webhook_url_refused");
        await Refused(new { url = "https://example.com/hook", events = new[] { "request.exploded" } }, 400, "unknown_webhook_event");
        await Refused(new { url = "https://example.com/hook", events = Array.Empty<string>() }, 400, "invalid_webhook");
        await Refused(new { url = "https://example.com/hook", events, extra = 1 }, 400, "unknown_field");

        // Another user's endpoint is not found, whatever the verb.
        var (endpoint, _) = await Register(Alice, "mine");
        await Is(await Bob.Client.GetAsync($"/svc/me/webhooks/{endpoint}"), 404, "webhook_not_found");
        await Is(await Bob.Client.DeleteAsync($"/svc/me/webhooks/{endpoint}"), 404, "webhook_not_found");
        await Is(await Bob.Client.PostAsync($"/svc/me/webhooks/{endpoint}/rotate", null), 404, "webhook_not_found");
        await Is(await Bob.Client.GetAsync($"/svc/me/webhooks/{endpoint}/deliveries"), 404, "webhook_not_found");
        await Is(await Bob.Client.PatchAsJsonAsync($"/svc/me/webhooks/{endpoint}", new { enabled = false }), 404, "webhook_not_found");
        await Is(await Alice.Client.PatchAsJsonAsync($"/svc/me/webhooks/{endpoint}", new { enabled = "yes" }), 400, "invalid_webhook");
        await Is(await Alice.Client.GetAsync($"/svc/me/webhooks/{endpoint}/deliveries?cursor=abc"), 400, "invalid_query");

        // A bad or refused Switchboard-Webhook header: 400 before any charge, nothing stored.
        var before = Alice.Balance;
        foreach (var (url, code) in new[] { ("ftp://x/y", "invalid_webhook_url"), ("https://127.0.0.1.nip/x y", "invalid_webhook_url"), ("https://192.168.0.1/x", "webhook_url_refused") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/svc/text/shout/") { Content = JsonContent.Create(new { word = "h" }) };
            request.Headers.TryAddWithoutValidation("Switchboard-Webhook", url);
            await Is(await Alice.Client.SendAsync(request), 400, code);
            using var deal = new HttpRequestMessage(HttpMethod.Post, "/svc/deal/pair/") { Content = JsonContent.Create(new { inputs = new { word = "h" } }) };
            deal.Headers.TryAddWithoutValidation("Switchboard-Webhook", url);
            await Is(await Alice.Client.SendAsync(deal), 400, code);
        }
        Assert.Equal(before, Alice.Balance);
        Assert.Equal(0L, App.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests")));
    }

    [Fact]
    public async Task AUserHasAtMostTheConfiguredNumberOfEndpointsAndDeleteSkipsPendingEvents()
    {
        for (var i = 0; i < 10; i++)
        {
            await Register(Alice, $"n{i}");
        }
        await Is(await Alice.Client.PostAsJsonAsync("/svc/me/webhooks", new { url = Receiver.Url("n10"), events = new[] { "request.failed" } }), 409, "too_many_webhooks");
        var all = (await Alice.Client.GetFromJsonAsync<JsonObject>("/svc/me/webhooks"))!["webhooks"]!.AsArray();
        Assert.Equal(10, all.Count);
        var first = all[0]!["id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.NoContent, (await Alice.Client.DeleteAsync($"/svc/me/webhooks/{first}")).StatusCode);
        await Is(await Alice.Client.GetAsync($"/svc/me/webhooks/{first}"), 404, "webhook_not_found");
        Assert.Equal(HttpStatusCode.Created, (await Alice.Client.PostAsJsonAsync("/svc/me/webhooks", new { url = Receiver.Url("n10"), events = new[] { "request.failed" } })).StatusCode);
    }

    [Fact]
    public async Task AnAdminManagesAUsersEndpointsAndTheAuditRowHoldsNoSecret()
    {
        var root = await App.AddAdminAsync();
        var created = await root.Client.PostAsJsonAsync("/admin/api/users/alice/webhooks", new { url = Receiver.Url("adm"), events = new[] { "request.succeeded" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var secret = body["secret"]!.GetValue<string>();
        await Receiver.SetSecretsAsync("adm", secret);
        var mine = (await Alice.Client.GetFromJsonAsync<JsonObject>("/svc/me/webhooks"))!["webhooks"]!.AsArray();
        Assert.Equal(body["id"]!.GetValue<string>(), Assert.Single(mine)!["id"]!.GetValue<string>());
        await Is(await root.Client.GetAsync("/admin/api/users/nobody/webhooks"), 404, "user_not_found");
        await Is(await Alice.Client.GetAsync("/admin/api/users/alice/webhooks"), 403, "admin_required");

        var rotated = (await (await root.Client.PostAsync($"/admin/api/users/alice/webhooks/{body["id"]}/rotate", null)).Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>();
        var rows = App.Query(c =>
        {
            using var command = c.Sql("SELECT action, COALESCE(target, ''), COALESCE(details, '') FROM audit_log WHERE action LIKE '%webhooks%' ORDER BY id");
            using var reader = command.ExecuteReader();
            var list = new List<string>();
            while (reader.Read())
            {
                list.Add($"{reader.GetString(0)} {reader.GetString(1)} {reader.GetString(2)}");
            }
            return list;
        });
        Assert.Equal(2, rows.Count);
        Assert.Contains("POST /admin/api/users/{user}/webhooks", rows[0]);
        Assert.All(rows, r => Assert.DoesNotContain(secret, r));
        Assert.All(rows, r => Assert.DoesNotContain(rotated, r));
        Assert.All(rows, r => Assert.DoesNotContain("whsec_", r));
    }
}

public sealed class WebhookTestsOnSqlite() : WebhookTests(StoreKind.Sqlite);

public sealed class WebhookTestsOnPostgres() : WebhookTests(StoreKind.Postgres);
