using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Execution;
using Switchboard.Handlers;
using Switchboard.Lifecycle;
using Switchboard.Live;

namespace Switchboard.Tests.Blobs;

/// <summary>
/// Binary results end to end on a real store (echo.render's <c>result_bytes</c> makes them without
/// a network): stored once by hash and linked to the request in its success's unit, listed as
/// <c>{type, media_type, bytes, sha256, url}</c>, served byte for byte to the owner only, with the
/// headers that keep them inert; expired with their request (an orphan blob deleted, a shared one
/// kept); passed down a deal's pipeline as the url, the bytes read through the handler's context;
/// refused over the caps or with a media type no header can carry, refunded. On SQLite and PostgreSQL.
/// </summary>
public abstract class BinaryResultTests(StoreKind kind) : AppTests
{
    private const int Megabyte = 1024 * 1024;

    private const string Catalog = """
        handlers:
          - {id: echo.render, credits: 1}
        offers:
          - {service: img, action: make, handler: echo.render, price: 2, prompt_template: "Draw {what}", expiration: 3600, params: {result_bytes: 1048576, media_type: image/png}}
          - {service: img, action: keep, handler: echo.render, price: 1, prompt_template: "Small {what}", expiration: 3600, params: {result_bytes: 1000, media_type: image/png}}
          - {service: img, action: brief, handler: echo.render, price: 1, prompt_template: "Small {what}", expiration: 1, params: {result_bytes: 1000, media_type: image/png}}
          - {service: img, action: big, handler: echo.render, price: 1, prompt_template: "Big {what}", params: {result_bytes: 5000}}
          - {service: img, action: odd, handler: echo.render, price: 1, prompt_template: "Odd {what}", params: {result_bytes: 16, media_type: "image/png x"}}
          - {service: img, action: look, handler: echo.render, price: 1, prompt_template: "{input}", params: {describe_input: true}}
          - {service: img, action: link, handler: echo.render, price: 1, prompt_template: "{input}"}
        deals:
          - name: draw_and_look
            offers:
              - {offer: img/make, pipeline: none}
              - {offer: img/look, pipeline: pass_through}
              - {offer: img/link, pipeline: overwrite}
        """;

    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: Catalog);
        _alice = await app.AddUserAsync("alice", 100);
        return app;
    }

    private async Task<JsonObject> Run(string path, object body, string? idempotencyKey = null)
    {
        var response = await _alice.Client.PostJsonAsync(path, body, idempotencyKey);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await SwitchboardFactory.WaitForEnd(_alice.Client, await SwitchboardFactory.IdOf(response), TimeSpan.FromSeconds(30));
    }

    private long Count(string sql, params (string, object?)[] args) => App.Query(c => c.Scalar<long>(sql, args));

    private static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    [Fact]
    public async Task AOneMegabyteBinaryResultRoundTripsByteForByteToItsOwner()
    {
        var done = await Run("/svc/img/make/", new { what = "a cat" });

        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        var id = done["id"]!.GetValue<string>();
        var reference = done["results"]!.AsArray().Single()!.AsObject();
        Assert.Equal("binary", reference["type"]!.GetValue<string>());
        Assert.Equal("image/png", reference["media_type"]!.GetValue<string>());
        Assert.Equal(Megabyte, reference["bytes"]!.GetValue<long>());
        var sha = reference["sha256"]!.GetValue<string>();
        Assert.Equal($"/svc/request/{id}/results/{sha}", reference["url"]!.GetValue<string>());

        var response = await _alice.Client.GetAsync(reference["url"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(Megabyte, response.Content.Headers.ContentLength);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains("sandbox", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal($"\"{sha}\"", response.Headers.ETag!.Tag);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(Megabyte, bytes.Length);
        Assert.Equal(sha, Sha256Hex(bytes));

        // Revalidation by the hash: nothing is sent again.
        using var again = new HttpRequestMessage(HttpMethod.Get, reference["url"]!.GetValue<string>());
        again.Headers.IfNoneMatch.Add(new System.Net.Http.Headers.EntityTagHeaderValue($"\"{sha}\""));
        var notModified = await _alice.Client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());

        Assert.Equal(98, _alice.Balance);
        Assert.Equal(1, Count("SELECT COUNT(*) FROM blobs WHERE sha256 = @sha AND bytes = @bytes", ("@sha", sha), ("@bytes", (long)Megabyte)));
        // The row's results (what the admin API, the panel and the live socket show) hold the reference, never the bytes.
        var stored = App.Query(c => c.Scalar<string>("SELECT results FROM requests WHERE id = @id", ("@id", id)))!;
        Assert.True(stored.Length < 400, stored);
        Assert.True(JsonNode.DeepEquals(done["results"], JsonNode.Parse(stored)));
    }

    [Fact]
    public async Task OnlyTheOwnerReadsAResultAndEveryOtherAskGetsAProblem()
    {
        var done = await Run("/svc/img/keep/", new { what = "mine" });
        var id = done["id"]!.GetValue<string>();
        var url = done["results"]![0]!["url"]!.GetValue<string>();
        var mallory = await App.AddUserAsync("mallory", 10);

        // Another user's key: the 404 of a result that does not exist, so nothing is revealed.
        await Problem(await mallory.Client.GetAsync(url), HttpStatusCode.NotFound, "result_not_found");
        await Problem(await _alice.Client.GetAsync($"/svc/request/{id}/results/{new string('0', 64)}"), HttpStatusCode.NotFound, "result_not_found");
        await Problem(await _alice.Client.GetAsync($"/svc/request/{id}/results/not-a-hash"), HttpStatusCode.NotFound, "result_not_found");
        await Problem(await _alice.Client.GetAsync($"/svc/request/{id}/results/{new string('A', 64)}"), HttpStatusCode.NotFound, "result_not_found");
        await Problem(await _alice.Client.GetAsync($"/svc/request/NOT-AN-ID/results/{new string('0', 64)}"), HttpStatusCode.BadRequest, "invalid_request_id");
        await Problem(await App.CreateClient().GetAsync(url), HttpStatusCode.Unauthorized, "missing_api_key");

        Assert.Equal(HttpStatusCode.OK, (await _alice.Client.GetAsync(url)).StatusCode);
    }

    [Fact]
    public async Task TheSameBytesInTwoRequestsAreStoredOnce()
    {
        // The same prompt gives the same bytes; the idempotency keys make two requests of it.
        var first = await Run("/svc/img/keep/", new { what = "twice" }, idempotencyKey: "one");
        var second = await Run("/svc/img/keep/", new { what = "twice" }, idempotencyKey: "two");

        Assert.NotEqual(first["id"]!.GetValue<string>(), second["id"]!.GetValue<string>());
        var sha = first["results"]![0]!["sha256"]!.GetValue<string>();
        Assert.Equal(sha, second["results"]![0]!["sha256"]!.GetValue<string>());
        Assert.Equal(1, Count("SELECT COUNT(*) FROM blobs"));
        Assert.Equal(2, Count("SELECT COUNT(*) FROM result_blobs WHERE sha256 = @sha", ("@sha", sha)));
        foreach (var done in new[] { first, second })
        {
            var bytes = await _alice.Client.GetByteArrayAsync(done["results"]![0]!["url"]!.GetValue<string>());
            Assert.Equal(sha, Sha256Hex(bytes));
        }
    }

    [Fact]
    public async Task ExpiryDeletesTheLinksAndTheBlobNoOtherRequestLists()
    {
        // Shared: the same bytes listed by a brief request and a kept one.
        var kept = await Run("/svc/img/keep/", new { what = "shared" });
        var brief = await Run("/svc/img/brief/", new { what = "shared" });
        var shared = kept["results"]![0]!["sha256"]!.GetValue<string>();
        Assert.Equal(shared, brief["results"]![0]!["sha256"]!.GetValue<string>());
        // Alone: bytes only a brief request lists.
        var alone = await Run("/svc/img/brief/", new { what = "alone" });
        var lonely = alone["results"]![0]!["sha256"]!.GetValue<string>();
        Assert.Equal(2, Count("SELECT COUNT(*) FROM blobs"));

        await SwitchboardFactory.WaitFor(_alice.Client, brief["id"]!.GetValue<string>(), TimeSpan.FromSeconds(15), "expired");
        await SwitchboardFactory.WaitFor(_alice.Client, alone["id"]!.GetValue<string>(), TimeSpan.FromSeconds(15), "expired");

        Assert.Equal(0, Count("SELECT COUNT(*) FROM result_blobs WHERE root_id IN (@a, @b)", ("@a", brief["id"]!.GetValue<string>()), ("@b", alone["id"]!.GetValue<string>())));
        Assert.Equal(0, Count("SELECT COUNT(*) FROM blobs WHERE sha256 = @sha", ("@sha", lonely)));
        Assert.Equal(1, Count("SELECT COUNT(*) FROM blobs WHERE sha256 = @sha", ("@sha", shared)));
        await Problem(await _alice.Client.GetAsync(brief["results"]![0]!["url"]!.GetValue<string>()), HttpStatusCode.NotFound, "result_not_found");
        var bytes = await _alice.Client.GetByteArrayAsync(kept["results"]![0]!["url"]!.GetValue<string>());
        Assert.Equal(shared, Sha256Hex(bytes));

        // Bought again, the expired request runs again and lists its blob again.
        var again = await Run("/svc/img/brief/", new { what = "alone" });
        Assert.Equal(2, again["run"]!.GetValue<int>());
        Assert.Equal(1, Count("SELECT COUNT(*) FROM result_blobs WHERE sha256 = @sha AND run = 2", ("@sha", lonely)));
    }

    [Fact]
    public async Task ADealPassesABinaryResultOnAsItsUrlAndTheNextStepReadsItsBytes()
    {
        var deal = await Run("/svc/deal/draw_and_look/", new { inputs = new { what = "a dog" } });

        Assert.Equal("succeeded", deal["status"]!.GetValue<string>());
        var dealId = deal["id"]!.GetValue<string>();
        var steps = deal["steps"]!.AsArray();
        var image = steps[0]!["results"]![0]!.AsObject();
        var sha = image["sha256"]!.GetValue<string>();
        var url = $"/svc/request/{dealId}/results/{sha}";
        // A step's result is read through its deal, the request its owner sees.
        Assert.Equal(url, image["url"]!.GetValue<string>());
        Assert.Equal(sha, Sha256Hex(await _alice.Client.GetByteArrayAsync(url)));
        // The next step read the bytes through its context: their hash and size, computed from what it read.
        Assert.Equal($"{sha} {Megabyte} image/png #1", steps[1]!["results"]![0]!.GetValue<string>());
        // {input} of a binary result is its url.
        Assert.Equal($"{url} #1", steps[2]!["results"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task AHandlerReadsOnlyTheBinaryResultsOfItsOwnRequest()
    {
        var mine = await Run("/svc/img/keep/", new { what = "private" });
        var other = await Run("/svc/img/keep/", new { what = "else" });
        var sha = mine["results"]![0]!["sha256"]!.GetValue<string>();
        var store = App.Services.GetRequiredService<Store>();

        var (lifecycle, publisher) = (App.Services.GetRequiredService<RequestLifecycle>(), App.Services.GetRequiredService<IChangePublisher>());
        HandlerHost HostOf(JsonObject request)
        {
            var job = new ClaimedJob(request["id"]!.GetValue<string>(), 1, 1, 3, _alice.Id, "echo.render", "", "{}", 1, 0);
            return new(store, job, new JobProgress(lifecycle, publisher, job, "test", NullLogger.Instance), publisher);
        }

        var read = await HostOf(mine).ReadBinaryAsync(mine["id"]!.GetValue<string>(), sha, CancellationToken.None);
        Assert.Equal(sha, read.Sha256);
        Assert.Equal("image/png", read.MediaType);
        var refused = await Assert.ThrowsAsync<HandlerException>(() => HostOf(other).ReadBinaryAsync(other["id"]!.GetValue<string>(), sha, CancellationToken.None));
        Assert.Equal("invalid_input", refused.Code);
        Assert.False(refused.Transient);
        var malformed = await Assert.ThrowsAsync<HandlerException>(() => HostOf(mine).ReadBinaryAsync(mine["id"]!.GetValue<string>(), "../x", CancellationToken.None));
        Assert.Equal("invalid_input", malformed.Code);
    }

    [Fact]
    public async Task ABinaryResultOverMaxResultBytesFailsStoresNothingAndIsRefunded()
    {
        await App.PushConfigAsync("api", "max_result_bytes: 4096\n");

        var done = await Run("/svc/img/big/", new { what = "too much" });

        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Equal("result_too_large", done["error"]!["code"]!.GetValue<string>());
        Assert.Empty(done["results"]!.AsArray());
        Assert.Equal(0, Count("SELECT COUNT(*) FROM blobs"));
        Assert.Equal(100, _alice.Balance);
        Assert.Equal(1, Ledger.Count(App.Store, "refund", done["id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task AMediaTypeNoHeaderCanCarryFailsTheRequestAndIsRefunded()
    {
        var done = await Run("/svc/img/odd/", new { what = "header" });

        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Equal("result_media_type_invalid", done["error"]!["code"]!.GetValue<string>());
        Assert.Equal(0, Count("SELECT COUNT(*) FROM blobs"));
        Assert.Equal(100, _alice.Balance);
    }
}

public sealed class BinaryResultsOnSqlite() : BinaryResultTests(StoreKind.Sqlite);

public sealed class BinaryResultsOnPostgres() : BinaryResultTests(StoreKind.Postgres);
