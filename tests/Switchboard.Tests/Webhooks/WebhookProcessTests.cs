using System.Net;
using System.Net.Http.Json;
using Switchboard.Tests.Distributed;

namespace Switchboard.Tests.Webhooks;

/// <summary>
/// Webhook delivery across OS processes (PostgreSQL and Redis, the distributed deployment): a
/// kill -9 of the delivering api process mid-burst loses no event and keeps each webhook-id, and
/// two api processes delivering at once never send the same attempt, and an event an executor
/// commits reaches the api's delivery through the change feed, not its poll. The receiver is the Node
/// one, verifying every signature with the npm <c>standardwebhooks</c> package.
/// </summary>
public sealed class WebhookProcessTests() : ProcessTestBase(Catalog)
{
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: text, action: shout, handler: echo.render, price: 1, prompt_template: "Say {n}"}
        """);

    private static Dictionary<string, string> Webhooks(int concurrency) => new()
    {
        ["Switchboard__Webhooks__AllowHttp"] = "true",
        ["Switchboard__Webhooks__PollInterval"] = "00:00:00.200",
        ["Switchboard__Webhooks__RequestTimeout"] = "00:00:01",
        ["Switchboard__Webhooks__Lease"] = "00:00:02",
        ["Switchboard__Webhooks__FirstRetryDelay"] = "00:00:00.100",
        ["Switchboard__Webhooks__MaxRetryDelay"] = "00:00:00.500",
        ["Switchboard__Webhooks__MaxConcurrency"] = concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private async Task<(WebhookReceiver Receiver, string Endpoint, string Secret)> Register(HttpClient client, string query)
    {
        var receiver = App.Own(await WebhookReceiver.StartAsync());
        var response = await client.PostAsJsonAsync("/svc/me/webhooks", new { url = receiver.Url("p", query), events = new[] { "request.succeeded" } });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var secret = body["secret"]!.GetValue<string>();
        await receiver.SetSecretsAsync("p", secret);
        return (receiver, body["id"]!.GetValue<string>(), secret);
    }

    private async Task<List<string>> Burst(HttpClient client, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add(await client.SubmitAsync("/svc/text/shout/", new { n = $"{i}" }));
        }
        return ids;
    }

    private List<(string Event, int Attempt, string? Outcome)> Attempts() => App.Query(c =>
    {
        using var command = c.Sql("SELECT event_id, attempt, outcome FROM webhook_attempts ORDER BY event_id, attempt");
        using var reader = command.ExecuteReader();
        var list = new List<(string, int, string?)>();
        while (reader.Read())
        {
            list.Add((reader.GetString(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }
        return list;
    });

    [Fact]
    public async Task AKillOfTheDeliveringProcessMidBurstLosesNoEventAndKeepsEachWebhookId()
    {
        var api = await Start("api", Webhooks(8));
        await Start("executor", "--workers", "8");
        using var client = api.Client(Key);
        // Each delivery takes 300 ms at the receiver: the kill lands while attempts are in flight.
        var (receiver, endpoint, secret) = await Register(client, "delay=300");
        var ids = await Burst(client, 30);
        await receiver.WaitForAsync(l => l.Count >= 5, "the first deliveries");
        // On a loaded machine the burst can drain in a lull: kill while an attempt is started and unfinished.
        await Wait.Until(() => Attempts().Any(a => a.Outcome is null), TimeSpan.FromSeconds(30), "an attempt in flight", TimeSpan.FromMilliseconds(20));
        await api.Kill();
        var inFlight = Attempts().Where(a => a.Outcome is null).ToList();
        Assert.NotEmpty(inFlight);

        var second = await Start("api", Webhooks(8));
        var expected = ids.Select(id => $"msg_{id}_1_succeeded_{endpoint}").ToHashSet();
        var log = await receiver.WaitForAsync(l => expected.IsSubsetOf(l.Where(e => e["status"]!.GetValue<int>() == 204).Select(e => e["id"]!.GetValue<string>())),
            "every event delivered", TimeSpan.FromSeconds(60));
        Assert.All(log, e => Assert.True(e["verified"]!.GetValue<bool>()));
        Assert.All(log, e => Assert.Contains(e["id"]!.GetValue<string>(), expected));
        // The attempts the kill cut off were made again under their event's id, as later attempts.
        await Wait.Until(() => App.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM webhook_events WHERE status <> 'delivered'")) == 0,
            TimeSpan.FromSeconds(30), "every event to be marked delivered");
        var attempts = Attempts();
        foreach (var (eventId, attempt, _) in inFlight)
        {
            Assert.Contains(attempts, a => a.Event == eventId && a.Attempt > attempt && a.Outcome == "delivered");
        }
        // The secret went to no log line of either process.
        var logs = string.Join('\n', Directory.GetFiles(Store.Path, "*.log").Select(File.ReadAllText));
        Assert.DoesNotContain(secret, logs);
        Assert.DoesNotContain("whsec_", logs);
        Assert.False(second.HasExited);
    }

    [Fact]
    public async Task AnEventAnExecutorCommitsWakesTheApisDeliveryThroughTheChangeFeed()
    {
        // The api polls only every ten minutes: what it delivers within the test's patience, it was told of.
        var settings = Webhooks(4);
        settings["Switchboard__Webhooks__PollInterval"] = "00:10:00";
        var api = await Start("api", settings);
        await Start("executor", "--workers", "4");
        using var client = api.Client(Key);
        var (receiver, endpoint, _) = await Register(client, "");
        // The api's worker makes its first claim at start; wait until that round is behind it.
        await Task.Delay(500);

        var ids = await Burst(client, 3);

        var expected = ids.Select(id => $"msg_{id}_1_succeeded_{endpoint}").ToHashSet();
        var log = await receiver.WaitForAsync(l => expected.IsSubsetOf(l.Select(e => e["id"]!.GetValue<string>())), "every event delivered", TimeSpan.FromSeconds(30));
        Assert.All(log, e => Assert.True(e["verified"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task TwoApiProcessesDeliveringAtOnceNeverSendTheSameAttempt()
    {
        var first = await Start("api", Webhooks(4));
        var second = await Start("api", Webhooks(4));
        await Start("executor", "--workers", "8");
        using var client = first.Client(Key);
        // 200 ms per delivery and 4 in flight per process: one process alone would take 2 s, so the
        // other, polling every 200 ms and woken by the feed, takes part.
        var (receiver, endpoint, _) = await Register(client, "delay=200");
        var ids = await Burst(client, 40);
        var expected = ids.Select(id => $"msg_{id}_1_succeeded_{endpoint}").ToHashSet();
        var log = await receiver.WaitForAsync(l => expected.IsSubsetOf(l.Select(e => e["id"]!.GetValue<string>())), "every event delivered", TimeSpan.FromSeconds(60));
        await Task.Delay(1000);
        log = await receiver.LogAsync();
        var sent = log.Select(e => (e["id"]!.GetValue<string>(), e["attempt"]!.GetValue<int>())).ToList();
        Assert.Equal(sent.Count, sent.Distinct().Count());
        Assert.All(log, e => Assert.True(e["verified"]!.GetValue<bool>()));
        // Both processes delivered (each claims at most 4 at a time), and the log has one row per attempt.
        var owners = App.Query(c => c.Scalar<long>("SELECT COUNT(DISTINCT split_part(owner, '/', 2)) FROM webhook_attempts"));
        Assert.Equal(2L, owners);
        Assert.Equal(sent.Count, Attempts().Count);
    }
}
