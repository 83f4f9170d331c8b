using System.Net.ServerSentEvents;
using Switchboard.Hosting;

namespace Switchboard.Tests.Requests;

/// <summary>
/// The event stream, <c>/svc/request/{id}/events</c>, against <c>serve</c> on real Kestrel and
/// both stores, read with .NET's own SSE parser: the events of a request's life in order, the
/// 202's <c>stream_url</c> opening it without a key, resuming with <c>Last-Event-ID</c> from
/// every point, each bad credential's problem, the live-channel cap, and the token kept out of
/// the server's logs (written with ASP.NET Core's request logging turned up).
/// </summary>
public abstract class RequestEventStreamTests(StoreKind kind) : AppTests
{
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: sse, action: talk, handler: echo.render, price: 2, prompt_template: "Talk {n}", params: {delay_ms: 1200, progress_steps: 3, progress_message: thinking, stream_text: "one two three four five six"}}
          - {service: sse, action: quick, handler: echo.render, price: 1, prompt_template: "Quick {n}", create_qty: 1}
          - {service: sse, action: stuck, handler: echo.render, price: 1, prompt_template: "Stuck {n}", params: {delay_ms: 20000}}
          - {service: sse, action: next, handler: echo.render, price: 1, prompt_template: "Next[{input}]"}
        deals:
          - name: pair
            offers:
              - {offer: sse/quick, pipeline: none}
              - {offer: sse/next, pipeline: overwrite}
        """);

    private TestUser _alice = null!, _bob = null!;

    protected SwitchboardProcess Serve { get; private set; } = null!;

    /// <summary>Alice's client, with her key.</summary>
    protected HttpClient Client { get; private set; } = null!;

    /// <summary>No key at all: what a browser has.</summary>
    protected HttpClient Anonymous { get; private set; } = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: Catalog);
        _alice = await app.AddUserAsync("alice", 1000);
        _bob = await app.AddUserAsync("bob", 1000);
        // Request logging turned up: the "Request starting ... ?token=" lines are written, and must be masked.
        Serve = await app.StartServeAsync("--workers", "4", "--Switchboard:LiveChannelsPerUser=2",
            "--Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=Debug",
            "--Logging:LogLevel:Microsoft.AspNetCore.Routing=Debug", "--Logging:LogLevel:Switchboard=Debug");
        Client = Serve.Client(_alice.Key);
        Anonymous = app.Own(new DisposableClient(new HttpClient { BaseAddress = Serve.Address })).Client;
        return app;
    }

    /// <summary>Submits and returns the 202's body (id, url, stream_url).</summary>
    private async Task<JsonObject> Accept(string path, object body, HttpClient? client = null)
    {
        var response = await (client ?? Client).PostAsJsonAsync(path, body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private static string StreamUrl(JsonObject accepted) => accepted["stream_url"]!.GetValue<string>();

    private static string Id(JsonObject accepted) => accepted["id"]!.GetValue<string>();

    private static string StatusOf(SseItem<string> item) => JsonNode.Parse(item.Data)!["status"]!.GetValue<string>();

    [Fact]
    public async Task TheStreamUrlFollowsARequestWithoutAKeyUntilItsEnd()
    {
        var accepted = await Accept("/svc/sse/talk/", new { n = 1 });
        var url = StreamUrl(accepted);
        Assert.Matches("^/svc/request/[0-9a-f]{32}/events\\?token=[A-Za-z0-9_-]+$", url);
        Assert.StartsWith(RequestUrl(Id(accepted)) + "events?token=", url);

        var answer = await EventStreams.ReadAll(Anonymous, url);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("text/event-stream", answer.ContentType);
        var got = await SwitchboardFactory.Get(Client, Id(accepted));
        // Status first, then progress and partial pieces while it runs, result and end last.
        Assert.Equal("status", answer.Events[0].EventType);
        Assert.Equal(["result", "end"], answer.Types().TakeLast(2));
        Assert.Equal("succeeded", answer.Events[^1].Data);
        Assert.Equal(got["results"]!.ToJsonString(), Assert.Single(answer.OfType("result")).Data);
        Assert.Equal(["one two three four five six #1"], got["results"]!.AsArray().Select(r => r!.GetValue<string>()));
        var statuses = answer.OfType("status").ToList();
        Assert.Contains(statuses, s => StatusOf(s) == "running");
        Assert.Equal("succeeded", StatusOf(statuses[^1]));
        Assert.True(JsonNode.DeepEquals(got, JsonNode.Parse(statuses[^1].Data)), $"last status {statuses[^1].Data} differs from GET {got.ToJsonString()}");
        // Every event but partial pieces has an id, each its own.
        var ids = answer.Events.Where(e => e.EventType != "partial").Select(e => e.EventId).ToList();
        Assert.All(ids, Assert.NotNull);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(answer.OfType("partial"), p => Assert.Null(p.EventId));
    }

    [Fact]
    public async Task ProgressAndPartialOutputReachTheStreamWhileTheRequestRuns()
    {
        // Needs the handler host to store progress and publish partial pieces (the change feed).
        var accepted = await Accept("/svc/sse/talk/", new { n = 2 });
        var answer = await EventStreams.ReadAll(Anonymous, StreamUrl(accepted));

        var progress = answer.OfType("progress").Select(p => JsonNode.Parse(p.Data)!).ToList();
        Assert.NotEmpty(progress);
        Assert.Contains("thinking", progress[^1].ToJsonString());
        var end = answer.Events.FindIndex(e => e.EventType == "result");
        Assert.All(answer.Events.Select((e, i) => (e, i)).Where(x => x.e.EventType is "progress" or "partial"), x => Assert.True(x.i < end));
        Assert.Equal("one two three four five six", string.Concat(answer.OfType("partial").Select(p => p.Data)));
    }

    [Fact]
    public async Task ADealIsFollowedWithItsStepsThroughItsOwnStreamUrl()
    {
        var accepted = await Accept("/svc/deal/pair/", new { inputs = new { n = 3 } });
        var answer = await EventStreams.ReadAll(Anonymous, StreamUrl(accepted));

        var got = await SwitchboardFactory.Get(Client, Id(accepted));
        Assert.Equal("succeeded", got["status"]!.GetValue<string>());
        Assert.Equal(["result", "end"], answer.Types().TakeLast(2));
        var last = JsonNode.Parse(answer.OfType("status").Last().Data)!;
        Assert.True(JsonNode.DeepEquals(got, last), $"last status {last.ToJsonString()} differs from GET {got.ToJsonString()}");
        Assert.Equal(2, last["steps"]!.AsArray().Count);
    }

    [Fact]
    public async Task AFinishedRequestsStreamSendsStatusResultAndEndAtOnceThenSaysNoMore()
    {
        var id = await Client.SubmitAsync("/svc/sse/quick/", new { n = 4 });
        await SwitchboardFactory.WaitForEnd(Client, id);

        var answer = await EventStreams.ReadAll(Client, $"{RequestUrl(id)}events");

        Assert.Equal(["status", "result", "end"], answer.Types());
        Assert.Equal("[\"Quick 4 #1\"]", answer.Events[1].Data);
        // An EventSource reconnects when a stream closes: having seen the end, it is told to stop (204).
        var again = await EventStreams.ReadAll(Client, $"{RequestUrl(id)}events", answer.Events[^1].EventId);
        Assert.Equal(HttpStatusCode.NoContent, again.Status);
    }

    [Fact]
    public async Task LastEventIdFromEachPointReplaysExactlyTheRest()
    {
        var id = await Client.SubmitAsync("/svc/sse/quick/", new { n = 5 });
        await SwitchboardFactory.WaitForEnd(Client, id);
        var all = (await EventStreams.ReadAll(Client, $"{RequestUrl(id)}events")).Events;

        for (var seen = 0; seen < all.Count - 1; seen++)
        {
            var rest = await EventStreams.ReadAll(Client, $"{RequestUrl(id)}events", all[seen].EventId);
            Assert.Equal(all.Skip(seen + 1).Select(e => (e.EventType, e.EventId, e.Data)), rest.Events.Select(e => (e.EventType, e.EventId, e.Data)));
        }
        // An id that is not one of ours starts over: nothing is lost.
        var unknown = await EventStreams.ReadAll(Client, $"{RequestUrl(id)}events", "not-an-id");
        Assert.Equal(all.Select(e => e.EventId), unknown.Events.Select(e => e.EventId));
    }

    [Fact]
    public async Task AResumedStreamOfARunningRequestSendsItsStateOnceThenFollowsIt()
    {
        var accepted = await Accept("/svc/sse/talk/", new { n = 6 });
        var id = Id(accepted);
        // Seen: the first status (queued or running). Resumed from it once the request runs,
        // the stream sends what changed since, never that status again, and ends as usual.
        var first = new TaskCompletionSource<SseItem<string>>();
        using (var cut = new CancellationTokenSource())
        {
            var reading = EventStreams.ReadAll(Anonymous, StreamUrl(accepted), onEvent: e => first.TrySetResult(e));
            var seen = await first.Task.WaitAsync(TimeSpan.FromSeconds(20));
            await SwitchboardFactory.WaitFor(Client, id, TimeSpan.FromSeconds(20), "running", "succeeded");
            var rest = await EventStreams.ReadAll(Anonymous, StreamUrl(accepted), seen.EventId);
            Assert.DoesNotContain(rest.Events, e => e.EventId == seen.EventId);
            Assert.Equal(["result", "end"], rest.Types().TakeLast(2));
            Assert.Equal(rest.Events.Where(e => e.EventId is not null).Select(e => e.EventId).Distinct().Count(),
                rest.Events.Count(e => e.EventId is not null));
            await reading;
        }
    }

    [Fact]
    public async Task ACancelIsStreamedAndEndsIt()
    {
        var accepted = await Accept("/svc/sse/stuck/", new { n = 7 });
        var reading = EventStreams.ReadAll(Anonymous, StreamUrl(accepted));
        await SwitchboardFactory.WaitFor(Client, Id(accepted), TimeSpan.FromSeconds(20), "running");
        Assert.Equal(HttpStatusCode.OK, (await Client.DeleteAsync(RequestUrl(Id(accepted)))).StatusCode);
        var answer = await reading;

        Assert.Equal("cancelled", StatusOf(answer.OfType("status").Last()));
        Assert.Equal(["status", "end"], answer.Types().TakeLast(2));
        Assert.Equal("cancelled", answer.Events[^1].Data);
        Assert.Empty(answer.OfType("result"));
    }

    [Fact]
    public async Task ADuplicateSubmitAnswersWithAStreamUrlToo()
    {
        var first = await Client.PostJsonAsync("/svc/sse/quick/", new { n = 8 }, idempotencyKey: "same");
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var again = await Client.PostJsonAsync("/svc/sse/quick/", new { n = 8 }, idempotencyKey: "same");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var url = (await again.Content.ReadFromJsonAsync<JsonObject>())!["stream_url"]!.GetValue<string>();

        var answer = await EventStreams.ReadAll(Anonymous, url);
        Assert.Equal("end", answer.Events[^1].EventType);
    }

    [Theory]
    [InlineData("garbage", "invalid_stream_token")]
    [InlineData("", "missing_api_key")]
    public async Task ABadTokenIsRefused(string token, string code)
    {
        var id = await Client.SubmitAsync("/svc/sse/quick/", new { n = 9 });
        var answer = await EventStreams.ReadAll(Anonymous, $"{RequestUrl(id)}events?token={token}");
        await ProblemAssert.Problem(answer.Response, HttpStatusCode.Unauthorized, code);
    }

    [Fact]
    public async Task AForgedTokenIsRefused()
    {
        var url = StreamUrl(await Accept("/svc/sse/quick/", new { n = 10 }));
        var token = url[(url.IndexOf("token=", StringComparison.Ordinal) + 6)..];
        // One character changed in the middle: the seal no longer holds.
        var middle = token.Length / 2;
        var forged = token[..middle] + (token[middle] == 'A' ? 'B' : 'A') + token[(middle + 1)..];
        var answer = await EventStreams.ReadAll(Anonymous, url.Replace(token, forged, StringComparison.Ordinal));
        await ProblemAssert.Problem(answer.Response, HttpStatusCode.Unauthorized, "invalid_stream_token");
    }

    [Fact]
    public async Task ATokenOpensItsOwnRequestsStreamAndNothingElse()
    {
        var mine = await Accept("/svc/sse/quick/", new { n = 11 });
        var other = await Accept("/svc/sse/quick/", new { n = 12 });
        var token = StreamUrl(mine).Split("token=")[1];

        var wrong = await EventStreams.ReadAll(Anonymous, $"{RequestUrl(Id(other))}events?token={token}");
        await ProblemAssert.Problem(wrong.Response, HttpStatusCode.Forbidden, "stream_token_wrong_request");
        // Not the request itself, nor its WebSocket, nor a submit: those need the key.
        await ProblemAssert.Problem(await Anonymous.GetAsync($"{RequestUrl(Id(mine))}?token={token}"), HttpStatusCode.Unauthorized, "missing_api_key");
        await ProblemAssert.Problem(await Anonymous.GetAsync($"{RequestUrl(Id(mine))}ws?token={token}"), HttpStatusCode.Unauthorized, "missing_api_key");
        await ProblemAssert.Problem(await Anonymous.DeleteAsync($"{RequestUrl(Id(mine))}?token={token}"), HttpStatusCode.Unauthorized, "missing_api_key");
        await ProblemAssert.Problem(await Anonymous.PostAsJsonAsync($"/svc/sse/quick/?token={token}", new { n = 13 }), HttpStatusCode.Unauthorized, "missing_api_key");
    }

    [Fact]
    public async Task UnknownAndOtherUsersRequestsAnswerAlikeAndMalformedIdsAre400()
    {
        var bobs = await _bob.Client.SubmitAsync("/svc/sse/quick/", new { n = 14 });

        await ProblemAssert.Problem((await EventStreams.ReadAll(Client, $"{RequestUrl(bobs)}events")).Response, HttpStatusCode.NotFound, "request_not_found");
        await ProblemAssert.Problem((await EventStreams.ReadAll(Client, $"{RequestUrl(new string('0', 32))}events")).Response, HttpStatusCode.NotFound, "request_not_found");
        await ProblemAssert.Problem((await EventStreams.ReadAll(Client, "/svc/request/NOT-AN-ID/events")).Response, HttpStatusCode.BadRequest, "invalid_request_id");
        await ProblemAssert.Problem((await EventStreams.ReadAll(Anonymous, $"{RequestUrl(bobs)}events")).Response, HttpStatusCode.Unauthorized, "missing_api_key");
        using var wrongKey = Serve.Client("sk-not-a-key-at-all");
        await ProblemAssert.Problem((await EventStreams.ReadAll(wrongKey, $"{RequestUrl(bobs)}events")).Response, HttpStatusCode.Unauthorized, "invalid_api_key");
    }

    [Fact]
    public async Task StreamsOverTheUsersCapAre429UntilOneEnds()
    {
        var urls = new List<string>();
        for (var n = 0; n < 3; n++)
        {
            urls.Add(StreamUrl(await Accept("/svc/sse/stuck/", new { n = 20 + n })));
        }
        var opened = new List<TaskCompletionSource>();
        using var stop = new CancellationTokenSource();
        var open = urls.Take(2).Select(u =>
        {
            var first = new TaskCompletionSource();
            opened.Add(first);
            return EventStreams.ReadAll(Anonymous, u, onEvent: _ => first.TrySetResult(), timeout: TimeSpan.FromSeconds(60));
        }).ToList();
        await Task.WhenAll(opened.Select(o => o.Task)).WaitAsync(TimeSpan.FromSeconds(20));

        var refused = await EventStreams.ReadAll(Anonymous, urls[2]);
        await ProblemAssert.Problem(refused.Response, (HttpStatusCode)429, "too_many_live_channels");
        Assert.Equal("5", refused.Response.Headers.RetryAfter!.ToString());

        // The first stream ends (its request is cancelled): its place is given back.
        Assert.Equal(HttpStatusCode.OK, (await Client.DeleteAsync(RequestUrl(urls[0].Split('/')[3]))).StatusCode);
        Assert.Equal("cancelled", (await open[0]).Events[^1].Data);
        var admitted = EventStreams.ReadAll(Anonymous, urls[2]);
        foreach (var url in urls.Skip(1))
        {
            await Client.DeleteAsync(RequestUrl(url.Split('/')[3]));
        }
        Assert.Equal(HttpStatusCode.OK, (await admitted).Status);
        Assert.Equal("end", (await open[1]).Events[^1].EventType);
    }

    [Fact]
    public async Task ADisabledUsersTokenStreamEndsAndItsTokenNoLongerOpens()
    {
        var accepted = await Accept("/svc/sse/stuck/", new { n = 30 });
        var first = new TaskCompletionSource();
        var reading = EventStreams.ReadAll(Anonymous, StreamUrl(accepted), onEvent: _ => first.TrySetResult());
        await first.Task.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(0, (await App.CliAsync("users", "disable", "alice")).Exit);

        var answer = await reading;
        Assert.DoesNotContain(answer.Events, e => e.EventType == "end");
        var again = await EventStreams.ReadAll(Anonymous, StreamUrl(accepted));
        await ProblemAssert.Problem(again.Response, HttpStatusCode.Unauthorized, "invalid_stream_token");
    }

    [Fact]
    public async Task ARevokedKeysStreamEnds()
    {
        var id = await Client.SubmitAsync("/svc/sse/stuck/", new { n = 31 });
        var first = new TaskCompletionSource();
        var reading = EventStreams.ReadAll(Client, $"{RequestUrl(id)}events", onEvent: _ => first.TrySetResult());
        await first.Task.WaitAsync(TimeSpan.FromSeconds(20));

        await App.CliJsonAsync("keys", "revoke", _alice.Key);

        var answer = await reading;
        Assert.DoesNotContain(answer.Events, e => e.EventType == "end");
    }

    [Fact]
    public async Task TheTokenNeverReachesTheLogs()
    {
        var accepted = await Accept("/svc/sse/quick/", new { n = 40 });
        var url = StreamUrl(accepted);
        var token = url.Split("token=")[1];
        await EventStreams.ReadAll(Anonymous, url);
        await EventStreams.ReadAll(Anonymous, $"{RequestUrl(Id(await Accept("/svc/sse/quick/", new { n = 41 })))}events?token={token}");
        await Anonymous.GetAsync($"{RequestUrl(Id(accepted))}?token={token}");

        // ASP.NET Core wrote its "Request starting" lines for these calls, with the token masked.
        await Wait.Until(() => Task.FromResult(Serve.StdoutLines.Any(l => l.Contains($"events?token={LogRedaction.Mask}", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10), "the request log line of the stream");
        Assert.DoesNotContain(Serve.StdoutLines.Concat(Serve.StderrLines), l => l.Contains(token, StringComparison.Ordinal));
        Assert.DoesNotContain(Serve.StdoutLines, l => l.Contains(token[..24], StringComparison.Ordinal));
    }

    private static string RequestUrl(string id) => $"/svc/request/{id}/";

    /// <summary>An HttpClient the app disposes with its other parts.</summary>
    private sealed class DisposableClient(HttpClient client) : IAsyncDisposable
    {
        public HttpClient Client { get; } = client;

        public ValueTask DisposeAsync()
        {
            Client.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

public sealed class RequestEventStreamOnSqlite() : RequestEventStreamTests(StoreKind.Sqlite);

public sealed class RequestEventStreamOnPostgres() : RequestEventStreamTests(StoreKind.Postgres);
