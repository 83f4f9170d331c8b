using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Playwright;

namespace Switchboard.Tests.Panel;

/// <summary>
/// A webhook receiver on 127.0.0.1 in the test process: answers 204, or 500 on paths ending in
/// <c>/fail</c>, and counts every delivery by its <c>webhook-id</c>.
/// </summary>
public sealed class LoopbackReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public LoopbackReceiver()
    {
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            Address = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/";
        }
        _listener.Prefixes.Add(Address);
        _listener.Start();
        _loop = Task.Run(Loop);
    }

    public string Address { get; }

    public ConcurrentDictionary<string, int> Deliveries { get; } = new();

    private async Task Loop()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }
            Deliveries.AddOrUpdate(context.Request.Headers["webhook-id"] ?? "", 1, (_, n) => n + 1);
            context.Response.StatusCode = context.Request.Url!.AbsolutePath.EndsWith("/fail", StringComparison.Ordinal) ? 500 : 204;
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}

/// <summary>
/// One <c>switchboard serve</c> (SQLite) for the Webhooks page's browser tests, its webhooks
/// allowed to call http on the loopback receiver, retrying slowly (a failing endpoint's event
/// stays pending while the test looks).
/// </summary>
public sealed class WebhooksPanelServe : PanelServe
{
    public const string Hostile = "<img src=x onerror=alert(1)>";

    public LoopbackReceiver Receiver { get; private set; } = null!;

    protected override async Task PrepareAsync()
    {
        await AdminAndEchoCatalogAsync("", ("dana", 100), (Hostile, 100));
        Receiver = App.Own(new LoopbackReceiver());
    }

    protected override Task<SwitchboardProcess> StartAsync(TestApp app) => app.StartRoleAsync("serve", [], new Dictionary<string, string>
    {
        ["Switchboard__Webhooks__AllowHttp"] = "true",
        ["Switchboard__Webhooks__PollInterval"] = "00:00:00.200",
        ["Switchboard__Webhooks__FirstRetryDelay"] = "00:01:00",
        ["Switchboard__Webhooks__MaxRetryDelay"] = "00:02:00",
    });
}

/// <summary>
/// The Webhooks page in a real browser: a user's endpoints (never their secrets) and deliveries
/// made by real requests to a receiver on 127.0.0.1, filtered by status; Redeliver sends a
/// delivered event exactly once more (same webhook-id), a POST without the antiforgery token
/// sends nothing; a hostile user name and URL show as text.
/// </summary>
public sealed class WebhooksPageBrowserTests(Chromium chromium, WebhooksPanelServe fixture) : IClassFixture<Chromium>, IClassFixture<WebhooksPanelServe>
{
    private SwitchboardProcess Serve => fixture.Serve;

    private async Task<(string Id, string Secret)> Register(string user, string url, params string[] events)
    {
        using var client = Serve.Client(fixture.Users[user].Key);
        var response = await client.PostAsJsonAsync("/svc/me/webhooks", new { url, events });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        return (body["id"]!.GetValue<string>(), body["secret"]!.GetValue<string>());
    }

    private Task<string> Submit(string user, string path, object body, params string[] statuses) => fixture.Submit(user, path, body, statuses);

    private (string Status, long Attempts) Event(string id) => fixture.Store.Query(c =>
    {
        using var command = c.Sql("SELECT status, (SELECT COUNT(*) FROM webhook_attempts WHERE event_id = @id) FROM webhook_events WHERE id = @id", ("@id", id));
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read(), $"no event {id}");
        return (reader.GetString(0), Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture));
    });

    private async Task<(string Status, long Attempts)> EventWhen(string id, Func<(string Status, long Attempts), bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!done(Event(id)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}: {Event(id)}");
            await Task.Delay(100);
        }
        return Event(id);
    }

    /// <summary>
    /// A barrier instead of a fixed wait: a new success of dana's, delivered to <paramref name="endpoint"/>.
    /// The dispatcher sends what is due in one pass, so a delivery queued before this one (a
    /// redelivery sent twice, say) has been sent by the time it has.
    /// </summary>
    private async Task Delivered(string endpoint, string word)
    {
        var id = await Submit("dana", "/svc/text/shout/", new { word }, "succeeded");
        await EventWhen($"msg_{id}_1_succeeded_{endpoint}", e => e.Status == "delivered", $"the delivery of the request {word}");
    }

    [Fact]
    public async Task EndpointsAndDeliveriesShowAndRedeliverSendsOnceMore()
    {
        var (ok, okSecret) = await Register("dana", fixture.Receiver.Address + "dana", "request.succeeded");
        var (failing, failSecret) = await Register("dana", fixture.Receiver.Address + "dana/fail", "request.failed");
        var shout = await Submit("dana", "/svc/text/shout/", new { word = "a" }, "succeeded");
        var broken = await Submit("dana", "/svc/text/broken/", new { thing = "b" }, "failed");
        var delivered = $"msg_{shout}_1_succeeded_{ok}";
        var pending = $"msg_{broken}_1_failed_{failing}";
        await EventWhen(delivered, e => e.Status == "delivered", "the success to be delivered");
        await EventWhen(pending, e => e.Attempts == 1 && fixture.Receiver.Deliveries.ContainsKey(pending), "the failure's first attempt");

        var page = await PanelSession.AdminPage(chromium, Serve, "root");
        var dialogs = ScriptDialogs.On(page);
        await Chromium.Scenario(page, nameof(EndpointsAndDeliveriesShowAndRedeliverSendsOnceMore), async () =>
        {
            await page.GotoAsync("/admin/webhooks");
            Assert.Equal("Webhooks", await page.Locator(".nav-sub.active").InnerTextAsync());
            await page.ClickAsync("[data-test=owners] a:text-is('dana')");
            await Chromium.Arrive(page, "**/admin/webhooks?user=dana");

            var endpoints = page.Locator("table[data-test=webhook-endpoints] tbody tr");
            Assert.Equal(2, await endpoints.CountAsync());
            var first = await page.Locator($"tr[data-id={ok}]").InnerTextAsync();
            Assert.Contains(fixture.Receiver.Address + "dana", first);
            Assert.Contains("request.succeeded", first);
            Assert.Contains("enabled", first);
            var content = await page.ContentAsync();
            Assert.DoesNotContain(okSecret, content);
            Assert.DoesNotContain(failSecret, content);
            Assert.DoesNotContain(okSecret["whsec_".Length..], content);

            var sent = await page.Locator($"tr[data-event='{delivered}']").InnerTextAsync();
            Assert.Contains("request.succeeded", sent);
            Assert.Contains(shout, sent);
            Assert.Contains("delivered", sent);
            Assert.Contains("204", sent);
            Assert.Equal("1", (await page.Locator($"tr[data-event='{delivered}'] [data-test=attempts]").InnerTextAsync()).Trim());
            var waiting = await page.Locator($"tr[data-event='{pending}']").InnerTextAsync();
            Assert.Contains("pending", waiting);
            Assert.Contains("500", waiting);
            Assert.Matches(@"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", await page.Locator($"tr[data-event='{pending}'] td:nth-child(6)").InnerTextAsync()); // Its next attempt.
            await PanelSession.Screenshot(page, "webhooks-user");

            await page.SelectOptionAsync("[data-test=webhook-filters] select[name=status]", "pending");
            await page.ClickAsync("[data-test=webhook-filters] button[type=submit]");
            await Chromium.Arrive(page, "**/admin/webhooks?user=dana&status=pending");
            Assert.Equal(1, await page.Locator("table[data-test=webhook-deliveries] tbody tr[data-event]").CountAsync());
            Assert.Equal(1, await page.Locator($"tr[data-event='{pending}']").CountAsync());

            var bad = await page.GotoAsync("/admin/webhooks?user=dana&status=lost");
            Assert.Equal(400, bad!.Status);
            Assert.Contains("is one of", await page.Locator("[data-field-error=status]").InnerTextAsync());

            var missing = await page.GotoAsync("/admin/webhooks?user=nobody");
            Assert.Equal(400, missing!.Status);
            Assert.Contains("No user has this name", await page.Locator("[data-test=no-user]").InnerTextAsync());

            // Redeliver: the delivered event is sent once more, with the same webhook-id.
            await page.GotoAsync("/admin/webhooks?user=dana");
            await page.ClickAsync($"tr[data-event='{delivered}'] button[data-test=redeliver]");
            await Chromium.Arrive(page, "**/admin/webhooks?user=dana&done=redelivered");
            Assert.Contains("Queued for delivery again", await page.Locator(".notice").InnerTextAsync());
            await EventWhen(delivered, e => e is { Status: "delivered", Attempts: 2 }, "the second delivery");
            await Delivered(ok, "after the redelivery");
            Assert.Equal(("delivered", 2L), Event(delivered));
            Assert.Equal(2, fixture.Receiver.Deliveries[delivered]);
            await page.ReloadAsync();
            Assert.Equal("2", (await page.Locator($"tr[data-event='{delivered}'] [data-test=attempts]").InnerTextAsync()).Trim());
            Assert.Equal(1, fixture.Store.Query(c => c.Scalar<long>(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'POST /admin/webhooks/{user}/redeliver' AND actor = 'root'")));

            // The same POST with the admin's cookies but without the form's token: refused, nothing sent.
            var form = page.Context.APIRequest.CreateFormData();
            form.Set("event", delivered);
            var refused = await page.Context.APIRequest.PostAsync("/admin/webhooks/dana/redeliver", new() { Form = form, MaxRedirects = 0 });
            Assert.Equal(400, refused.Status);
            Assert.Contains("nothing was changed", await refused.TextAsync());
            Assert.Equal(("delivered", 2L), Event(delivered)); // Not queued again.
            await Delivered(ok, "after the refused redelivery");
            Assert.Equal(("delivered", 2L), Event(delivered));
            Assert.Equal(2, fixture.Receiver.Deliveries[delivered]);

            // An event of another user's endpoint, or none: 400, nothing sent.
            await page.GotoAsync("/admin/webhooks?user=dana");
            await page.EvaluateAsync("id => document.querySelector('button[data-test=redeliver]').value = id", "msg_nothing");
            var unknown = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("button[data-test=redeliver] >> nth=0"), r => r.Request.Method == "POST");
            Assert.Equal(400, unknown.Status);
            Assert.Contains("nothing was sent", await page.Locator("[data-test=redeliver-errors]").InnerTextAsync());
            Assert.Equal(0, dialogs.Count);
        });
    }

    [Fact]
    public async Task AHostileUserNameAndUrlShowAsText()
    {
        var url = fixture.Receiver.Address + "h/%3Cscript%3Ealert(2)%3C/script%3E?x=%22%3E%3Cimg%20src=x%20onerror=alert(3)%3E";
        var (endpoint, _) = await Register(WebhooksPanelServe.Hostile, url, "request.succeeded");
        var id = await Submit(WebhooksPanelServe.Hostile, "/svc/text/shout/", new { word = "<script>alert(4)</script>" }, "succeeded");
        await EventWhen($"msg_{id}_1_succeeded_{endpoint}", e => e.Status == "delivered", "the delivery");
        var stored = fixture.Store.Query(c => c.Scalar<string>("SELECT url FROM webhook_endpoints WHERE id = @id", ("@id", endpoint)))!;

        var page = await PanelSession.AdminPage(chromium, Serve, "root");
        var dialogs = ScriptDialogs.On(page);
        await Chromium.Scenario(page, nameof(AHostileUserNameAndUrlShowAsText), async () =>
        {
            await page.GotoAsync("/admin/webhooks");
            await page.ClickAsync($"[data-test=owners] a:text-is(\"{WebhooksPanelServe.Hostile}\")");
            Assert.Contains(WebhooksPanelServe.Hostile, await page.Locator("h2").First.InnerTextAsync());
            Assert.Equal(WebhooksPanelServe.Hostile, await page.InputValueAsync("[data-test=webhook-filters] input[name=user]"));
            Assert.Equal(stored, (await page.Locator($"tr[data-id={endpoint}] td.webhook-url").InnerTextAsync()).Trim());
            Assert.Equal(1, await page.Locator("table[data-test=webhook-deliveries] tbody tr[data-event]").CountAsync());
            Assert.Equal(0, await page.Locator("img[src=x]").CountAsync());
            await PanelSession.Screenshot(page, "webhooks-hostile");
            Assert.Equal(0, dialogs.Count);
        });
    }
}
