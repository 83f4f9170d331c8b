using Microsoft.Extensions.DependencyInjection;
using Switchboard.Requests;

namespace Switchboard.Tests.Requests;

/// <summary>
/// <c>POST /admin/api/requests/retry</c> and <c>/cancel</c> (<see cref="RequestActions"/>): the
/// preview's count and credits against the store's, each failed request retried once (run 2, one
/// new charge), each running one cancelled and refunded once, a request changed between preview
/// and action skipped, a retry refused for credits counted and nothing charged, the credits audit
/// clean after each; and a problem with a stable code for each bad filter.
/// </summary>
public abstract class RequestBulkEndpointTests(StoreKind kind) : AppTests
{
    private TestUser _alice = null!;
    private TestUser _bob = null!;
    private TestUser _root = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: RequestAdminEndpointTests.Catalog);
        _alice = await app.AddUserAsync("alice", 100);
        _bob = await app.AddUserAsync("bob", 100);
        _root = await app.AddAdminAsync();
        return app;
    }

    private static async Task<string> Submit(TestUser user, string path, object body, params string[] statuses)
    {
        var id = await user.Client.SubmitAsync(path, body);
        await SwitchboardFactory.WaitFor(user.Client, id, TimeSpan.FromSeconds(20), statuses);
        return id;
    }

    private static Task<string> Failed(TestUser user, string thing) => Submit(user, "/svc/text/broken/", new { thing }, "failed");

    private async Task<JsonObject> Post(string path, object body)
    {
        var response = await _root.Client.PostAsJsonAsync(path, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private long Scalar(string sql, params (string, object?)[] args) => App.Store.Query(c => c.Scalar<long>(sql, args));

    private int Run(string id) => (int)Scalar("SELECT run FROM requests WHERE id = @id", ("@id", id));

    private static List<string> Ids(JsonObject answer) => [.. answer["requests"]!.AsArray().Select(r => r!["id"]!.GetValue<string>())];

    [Fact]
    public async Task ARetryOfAFilterChargesEachFailedRequestOnceAtTheCatalogsPrice()
    {
        var failed = new[] { await Failed(_alice, "a"), await Failed(_alice, "b"), await Failed(_alice, "c") };
        var other = await Failed(_bob, "z");
        await Submit(_alice, "/svc/text/shout/", new { word = "fine" }, "succeeded");

        var preview = await Post("/admin/api/requests/retry", new { user = "alice", dry_run = true });

        Assert.True(preview["dry_run"]!.GetValue<bool>());
        Assert.Equal(Scalar("SELECT COUNT(*) FROM requests r JOIN users u ON u.id = r.user_id WHERE u.name = 'alice' AND r.status = 'failed'"), preview["count"]!.GetValue<long>());
        Assert.Equal(3 * 4, preview["credits"]!.GetValue<long>()); // text/broken costs 4 in the catalog.
        Assert.Equal(Enumerable.Reverse(failed), Ids(preview)); // Newest first.
        Assert.False(preview["more"]!.GetValue<bool>());
        Assert.All(failed, id => Assert.Equal(1, Run(id))); // A preview changes nothing.
        var balance = Ledger.Balance(App.Store, _alice.Id);

        var done = await Post("/admin/api/requests/retry", new { user = "alice" });

        Assert.Equal(3, done["done"]!.GetValue<int>());
        Assert.Equal(0, done["skipped"]!.GetValue<int>());
        Assert.Equal(12, done["credits"]!.GetValue<long>());
        foreach (var id in failed)
        {
            Assert.Equal(2, Run(id));
            Assert.Equal(2, Ledger.Count(App.Store, "charge", id)); // The first run's and exactly one new.
        }
        Assert.Equal(1, Run(other)); // Bob's is not in alice's filter.
        // Each second run fails too (text/broken always does) and is refunded: charged 12, refunded 12, once each.
        foreach (var id in failed)
        {
            await SwitchboardFactory.WaitFor(_alice.Client, id, TimeSpan.FromSeconds(20), "failed");
            Assert.Equal(2, Ledger.Count(App.Store, "refund", id));
        }
        Assert.Equal(balance, Ledger.Balance(App.Store, _alice.Id));
        Ledger.AssertAudited(App.Store);
    }

    [Fact]
    public async Task ACancelOfAFilterRefundsEachRunningRequestOnce()
    {
        var slow = new[] { await Submit(_alice, "/svc/text/slow/", new { thing = "1" }, "running", "queued"), await Submit(_alice, "/svc/text/slow/", new { thing = "2" }, "running", "queued") };
        Assert.Equal(100 - 14, Ledger.Balance(App.Store, _alice.Id));

        var preview = await Post("/admin/api/requests/cancel", new { offer = "text/slow", dry_run = true });
        Assert.Equal(2, preview["count"]!.GetValue<int>());
        Assert.Equal(Scalar("SELECT SUM(price) FROM requests WHERE service = 'text' AND action = 'slow' AND status IN ('queued', 'running')"), preview["credits"]!.GetValue<long>());

        var done = await Post("/admin/api/requests/cancel", new { offer = "text/slow" });

        Assert.Equal(2, done["done"]!.GetValue<int>());
        Assert.Equal(14, done["credits"]!.GetValue<long>());
        foreach (var id in slow)
        {
            Assert.Equal("cancelled", App.Store.Query(c => c.Scalar<string>("SELECT status FROM requests WHERE id = @id", ("@id", id))));
            Assert.Equal(1, Ledger.Count(App.Store, "refund", id));
        }
        Assert.Equal(100, Ledger.Balance(App.Store, _alice.Id));
        var again = await Post("/admin/api/requests/cancel", new { offer = "text/slow" });
        Assert.Equal(0, again["count"]!.GetValue<int>());
        Assert.All(slow, id => Assert.Equal(1, Ledger.Count(App.Store, "refund", id)));
        Ledger.AssertAudited(App.Store);
    }

    [Fact]
    public async Task ARequestChangedBetweenPreviewAndActionIsSkippedNotActedOnTwice()
    {
        var actions = App.Services.GetRequiredService<RequestActions>();
        var a = await Failed(_alice, "a");
        var b = await Failed(_alice, "b");
        var preview = actions.Preview(RequestAdmin.ParseFilter(n => n == "user" ? "alice" : null, [])!, BulkAction.Retry);
        Assert.Equal(2, preview.Items.Count);
        // Retried (and failed again) by someone else meanwhile: failed still, but at run 2.
        Assert.Equal(HttpStatusCode.Accepted, (await _root.Client.PostAsync($"/admin/api/requests/{a}/retry", null)).StatusCode);
        await SwitchboardFactory.WaitFor(_alice.Client, a, TimeSpan.FromSeconds(20), "failed");

        var result = await actions.ApplyAsync(BulkAction.Retry, [.. preview.Items.Select(i => (i.Id, i.Run))], "root");

        Assert.Equal((1, 1, 0), (result.Done, result.Skipped, result.Refused));
        Assert.Equal("skipped", result.Items.Single(i => i.Id == a).Outcome);
        Assert.Equal(2, Run(a));
        Assert.Equal(2, Ledger.Count(App.Store, "charge", a));
        Assert.Equal(2, Run(b));
        Ledger.AssertAudited(App.Store);
    }

    [Fact]
    public async Task ARetryRefusedForCreditsIsCountedAndChargesNothing()
    {
        var id = await Failed(_bob, "poor");
        var drain = await _root.Client.PostAsJsonAsync("/admin/api/users/bob/credits", new { kind = "adjust", amount = -100, note = "drained for the test" });
        Assert.Equal(HttpStatusCode.OK, drain.StatusCode);

        var done = await Post("/admin/api/requests/retry", new { user = "bob" });

        Assert.Equal((0, 0, 1), (done["done"]!.GetValue<int>(), done["skipped"]!.GetValue<int>(), done["refused"]!.GetValue<int>()));
        Assert.Contains("credits", done["requests"]![0]!["detail"]!.GetValue<string>());
        Assert.Equal(1, Run(id));
        Assert.Equal(1, Ledger.Count(App.Store, "charge", id));
        Assert.Equal(0, Ledger.Balance(App.Store, _bob.Id));
    }

    /// <summary>Bodies each refused with 400 and its code, by action.</summary>
    private static readonly (string Action, string Body, string Code)[] BadBodies =
    [
        ("retry", """{"status": "bogus"}""", "invalid_filter"),
        ("retry", """{"status": "succeeded"}""", "invalid_filter"),
        ("cancel", """{"status": "failed"}""", "invalid_filter"),
        ("cancel", """{"offer": "noslash"}""", "invalid_filter"),
        ("retry", """{"from": "yesterday"}""", "invalid_filter"),
        ("retry", """{"user": 5}""", "invalid_filter"),
        ("retry", """{"limit": 1001}""", "invalid_limit"),
        ("retry", """{"limit": "2"}""", "invalid_limit"),
        ("retry", """{"dry_run": "yes"}""", "invalid_body"),
        ("retry", """{"dryrun": true}""", "unknown_field"),
        ("cancel", """{"before": 5}""", "unknown_field"),
        ("retry", "", "invalid_json"),
        ("retry", "[]", "invalid_json"),
    ];

    // One app for all the bodies (each case an app of its own cost a store and a server apiece):
    // the failed request a wrongly accepted retry would change is checked after every one.
    [Fact]
    public async Task EachBadBodyIs400WithItsCodeAndChangesNothing()
    {
        var id = await Failed(_alice, "kept");

        foreach (var (action, body, code) in BadBodies)
        {
            try
            {
                await Problem(await _root.Client.PostAsync($"/admin/api/requests/{action}", new StringContent(body, System.Text.Encoding.UTF8, "application/json")),
                    HttpStatusCode.BadRequest, code);
                Assert.Equal(1, Run(id));
            }
            catch (Xunit.Sdk.XunitException e)
            {
                throw new Xunit.Sdk.XunitException($"{action} with {body}: {e.Message}");
            }
        }
    }

    [Fact]
    public async Task NoBodyOrAFilterInTheQueryIsRefusedAndChangesNothing()
    {
        var id = await Failed(_alice, "kept");

        await Problem(await _root.Client.PostAsync("/admin/api/requests/retry", null), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        // The query is not the filter: {} with ?user=bob would retry everyone's.
        await Problem(await _root.Client.PostAsJsonAsync("/admin/api/requests/retry?user=bob", new { }), HttpStatusCode.BadRequest, "unknown_parameter");

        Assert.Equal(1, Run(id));
    }

    [Fact]
    public async Task TheBatchIsBoundedAndTheRestStaysForTheNextCall()
    {
        var failed = new[] { await Failed(_alice, "1"), await Failed(_alice, "2"), await Failed(_alice, "3") };

        var first = await Post("/admin/api/requests/retry", new { user = "alice", limit = 2, dry_run = true });

        Assert.Equal(2, first["count"]!.GetValue<int>());
        Assert.True(first["more"]!.GetValue<bool>());
        Assert.Equal(RequestActions.MaxBatch, first["max_batch"]!.GetValue<int>());
        Assert.Equal(Enumerable.Reverse(failed[1..]), Ids(first));
    }
}

public sealed class RequestBulkEndpointsOnSqlite() : RequestBulkEndpointTests(StoreKind.Sqlite);

public sealed class RequestBulkEndpointsOnPostgres() : RequestBulkEndpointTests(StoreKind.Postgres);
