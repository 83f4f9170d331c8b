using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Switchboard.Tests.Requests;

/// <summary>
/// <c>GET /svc/requests/</c> on both stores: only the caller's requests (offers' and deals', a
/// deal's steps inside their deal only), newest first, cursor-paged without loss or repeats while
/// requests arrive between pages, each filter, and a 400 problem with a stable code for each bad
/// parameter.
/// </summary>
public abstract class RequestListTests(StoreKind kind) : AppTests
{
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: t, action: a, handler: echo.render, price: 2, prompt_template: "A({topic})"}
          - {service: t, action: b, handler: echo.render, price: 1, prompt_template: "B[{input}]"}
          - {service: t, action: fail, handler: echo.render, price: 1, prompt_template: "F({topic})", params: {fail: "no luck"}}
          - {service: t, action: steps, handler: echo.render, price: 1, prompt_template: "S({topic})", params: {progress_steps: 2, delay_ms: 100, progress_message: "half"}}
        deals:
          - name: pair
            offers:
              - {offer: t/a, pipeline: none}
              - {offer: t/b, pipeline: overwrite}
            price: 3
        """);

    private TestUser _alice = null!;
    private TestUser _bob = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: Catalog);
        _alice = await app.AddUserAsync("alice", 100);
        _bob = await app.AddUserAsync("bob", 100);
        return app;
    }

    private async Task<string> Submit(TestUser user, string path, object body, string status = "succeeded")
    {
        var id = await user.Client.SubmitAsync(path, body);
        await SwitchboardFactory.WaitFor(user.Client, id, TimeSpan.FromSeconds(20), status);
        return id;
    }

    private static async Task<JsonObject> Page(TestUser user, string query = "")
    {
        var response = await user.Client.GetAsync("/svc/requests/" + query);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private static List<string> Ids(JsonObject page) => [.. page["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>())];

    /// <summary>Free requests of <paramref name="user"/> written straight to the store (price 0: nothing for the credits audit to say).</summary>
    private List<string> Insert(TestUser user, int count, string service = "t", string action = "a", string status = "succeeded", long? at = null)
    {
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid().ToString("N")).ToList();
        App.Store.Store.Write(c =>
        {
            foreach (var id in ids)
            {
                var created = at ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                FreeRequests.Insert(c, id, user.Id, "offer", service, action, status, created);
            }
            return 0;
        });
        return ids;
    }

    [Fact]
    public async Task AnItemShowsTheProgressItsRunLastReported()
    {
        var plain = await Submit(_alice, "/svc/t/a/", new { topic = "owls" });
        var stepped = await Submit(_alice, "/svc/t/steps/", new { topic = "owls" });

        var items = (await Page(_alice))["items"]!.AsArray().ToDictionary(i => i!["id"]!.GetValue<string>(), i => i!);
        Assert.Null(items[plain]["progress"]);
        var progress = items[stepped]["progress"]!;
        Assert.Equal(1.0, progress["fraction"]!.GetValue<double>());
        Assert.Equal("half 2/2", progress["message"]!.GetValue<string>());
        // The same object as the request's own.
        var request = await _alice.Client.GetFromJsonAsync<JsonObject>($"/svc/request/{stepped}/");
        Assert.Equal(request!["progress"]!.ToJsonString(), progress.ToJsonString());
    }

    [Fact]
    public async Task TheCallersRequestsAndDealsNewestFirstWithoutStepsOrOthers()
    {
        var first = await Submit(_alice, "/svc/t/a/", new { topic = "owls" });
        var failed = await Submit(_alice, "/svc/t/fail/", new { topic = "x" }, "failed");
        var deal = await Submit(_alice, "/svc/deal/pair/", new { inputs = new { topic = "bats" } });
        var bobs = await Submit(_bob, "/svc/t/a/", new { topic = "bob" });

        var page = await Page(_alice);

        Assert.Equal([deal, failed, first], Ids(page));
        Assert.Null(page["next_cursor"]);
        var items = page["items"]!.AsArray();
        Assert.Equal("deal", items[0]!["kind"]!.GetValue<string>());
        Assert.Equal("pair", items[0]!["deal"]!.GetValue<string>());
        Assert.Null(items[0]!["offer"]);
        Assert.Equal("t/fail", items[1]!["offer"]!.GetValue<string>());
        Assert.Equal("failed", items[1]!["status"]!.GetValue<string>());
        Assert.Equal("echo_failed", items[1]!["error"]!["code"]!.GetValue<string>());
        Assert.Equal($"/svc/request/{first}/", items[2]!["url"]!.GetValue<string>());
        Assert.Equal(2, items[2]!["price"]!.GetValue<long>());
        Assert.NotNull(items[2]!["finished_at"]);
        Assert.Null(items[2]!["results"]); // A summary: the url reads the results.
        // The deal's steps are rows of alice's too, and only shown inside their deal.
        Assert.Equal(2, App.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE parent = @d", ("@d", deal))));
        Assert.Equal([bobs], Ids(await Page(_bob)));
    }

    [Fact]
    public async Task PagesLoseAndRepeatNothingWhileRequestsArrive()
    {
        var before = Insert(_alice, 95);
        Insert(_bob, 30);
        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Page(_alice, "?limit=7" + (cursor is null ? "" : "&cursor=" + cursor));
            seen.AddRange(Ids(page));
            cursor = page["next_cursor"]?.GetValue<string>();
            pages++;
            // New requests of both users between pages: newer than every page so far.
            Insert(_alice, 3);
            Insert(_bob, 2);
        }
        while (cursor is not null);

        Assert.Equal(14, pages); // ceil(95 / 7)
        before.Reverse();
        Assert.Equal(before, seen);
    }

    [Fact]
    public async Task EachFilterNarrowsTheList()
    {
        var old = Insert(_alice, 2, at: DateTimeOffset.Parse("2020-01-01T00:00:00Z", CultureInfo.InvariantCulture).ToUnixTimeMilliseconds());
        // Final statuses: a queued row written here would be found and run by recovery.
        var cancelled = Insert(_alice, 2, status: "cancelled", at: 1_700_000_000_000);
        var expired = Insert(_alice, 1, status: "expired", at: 1_700_000_000_000);
        var other = Insert(_alice, 3, service: "t", action: "b");
        var deal = await Submit(_alice, "/svc/deal/pair/", new { inputs = new { topic = "bats" } });
        Insert(_bob, 3, service: "t", action: "b");

        Assert.Equal([.. expired, .. Enumerable.Reverse(cancelled)], Ids(await Page(_alice, "?status=cancelled,expired")));
        Assert.Equal(Enumerable.Reverse(cancelled), Ids(await Page(_alice, "?status=cancelled")));
        Assert.Equal(Enumerable.Reverse(other), Ids(await Page(_alice, "?offer=t/b")));
        Assert.Equal([deal], Ids(await Page(_alice, "?deal=pair")));
        Assert.Empty(Ids(await Page(_alice, "?deal=nothing")));
        var all = Ids(await Page(_alice, "?limit=100"));
        Assert.Equal(9, all.Count);
        // since: ISO 8601, Unix ms and a period all leave out the 2020 requests.
        var recent = all.Except(old).ToList();
        Assert.Equal(recent, Ids(await Page(_alice, "?since=2021-06-01T00:00:00Z&limit=100")));
        Assert.Equal(recent, Ids(await Page(_alice, "?since=2021-06-01T02:00:00%2B02:00&limit=100")));
        Assert.Equal(recent, Ids(await Page(_alice, "?since=1622505600000&limit=100")));
        Assert.Equal(all.Except([.. old, .. cancelled, .. expired]), Ids(await Page(_alice, "?since=1d&limit=100")));
        // Filters combine, and a cursor walks them.
        var first = await Page(_alice, "?offer=t/b&status=succeeded&limit=2");
        Assert.Equal(Enumerable.Reverse(other).Take(2), Ids(first));
        var next = await Page(_alice, $"?offer=t/b&status=succeeded&limit=2&cursor={first["next_cursor"]}");
        Assert.Equal([other[0]], Ids(next));
        Assert.Null(next["next_cursor"]);
    }

    [Theory]
    [InlineData("status=bogus", "invalid_status")]
    [InlineData("status=queued,nope", "invalid_status")]
    [InlineData("status=waiting", "invalid_status")] // A step's status, never a listed request's.
    [InlineData("status=queued&status=failed", "invalid_status")]
    [InlineData("limit=0", "invalid_limit")]
    [InlineData("limit=101", "invalid_limit")]
    [InlineData("limit=ten", "invalid_limit")]
    [InlineData("limit=-1", "invalid_limit")]
    [InlineData("since=yesterday", "invalid_since")]
    [InlineData("since=2026-13-45T99:00", "invalid_since")]
    [InlineData("since=-5", "invalid_since")]
    [InlineData("cursor=%21%21%21", "invalid_cursor")]
    [InlineData("cursor=MTIz", "invalid_cursor")] // "123": no check.
    [InlineData("offer=noslash", "invalid_filter")]
    [InlineData("offer=a/b/c", "invalid_filter")]
    [InlineData("offer=t/a&deal=pair", "invalid_filter")]
    [InlineData("user=bob", "unknown_parameter")]
    [InlineData("before=3", "unknown_parameter")]
    [InlineData("status=queued%00", "invalid_query")]
    [InlineData("deal=pa%07ir", "invalid_query")]
    public async Task EachBadParameterIsA400WithItsCode(string query, string code) =>
        await Problem(await _alice.Client.GetAsync("/svc/requests/?" + query), HttpStatusCode.BadRequest, code);

    [Fact]
    public async Task ACursorIsRefusedWhenTamperedWithOrUsedByAnotherUserOrWithOtherFilters()
    {
        Insert(_alice, 5);
        Insert(_bob, 5);
        var cursor = (await Page(_alice, "?limit=2"))["next_cursor"]!.GetValue<string>();
        Assert.Equal(2, Ids(await Page(_alice, $"?limit=2&cursor={cursor}")).Count); // It works as given, with any limit.
        Assert.Equal(3, Ids(await Page(_alice, $"?limit=50&cursor={cursor}")).Count);

        // Its seq changed by hand (the check kept): refused.
        var text = Encoding.ASCII.GetString(Base64Url.DecodeFromChars(cursor));
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var forged = Base64Url.EncodeToString(Encoding.ASCII.GetBytes((long.Parse(text[..dot], CultureInfo.InvariantCulture) + 3) + text[dot..]));
        await Problem(await _alice.Client.GetAsync($"/svc/requests/?limit=2&cursor={forged}"), HttpStatusCode.BadRequest, "invalid_cursor");
        await Problem(await _alice.Client.GetAsync($"/svc/requests/?limit=2&cursor={cursor[..^2]}"), HttpStatusCode.BadRequest, "invalid_cursor");
        await Problem(await _bob.Client.GetAsync($"/svc/requests/?limit=2&cursor={cursor}"), HttpStatusCode.BadRequest, "invalid_cursor");
        await Problem(await _alice.Client.GetAsync($"/svc/requests/?status=failed&cursor={cursor}"), HttpStatusCode.BadRequest, "invalid_cursor");
    }

    [Fact]
    public async Task ItNeedsAnApiKey() =>
        await Problem(await App.CreateClient().GetAsync("/svc/requests/"), HttpStatusCode.Unauthorized, "missing_api_key");
}

public sealed class RequestListTestsOnSqlite() : RequestListTests(StoreKind.Sqlite);

public sealed class RequestListTestsOnPostgres() : RequestListTests(StoreKind.Postgres);
