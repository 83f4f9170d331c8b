using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;

using static Switchboard.Tests.Infrastructure.RequestAsserts;

namespace Switchboard.Tests.Handlers;

/// <summary>
/// <c>http.json</c> end to end: a real serve and executor, over real HTTP, against a fake JSON API
/// on 127.0.0.1 whose endpoint, method, credential header and fixed headers are the operator's
/// endpoint profiles, and whose body, result, usage and error pointers are the offers'.
/// </summary>
public sealed class HttpJsonTests : AppTests
{
    private const long Credits = 100;
    private const long Price = 10;

    // Quotes, a backslash, a line break, braces (a placeholder's and JSON's), non-ASCII and markup:
    // it must reach the API as this exact JSON string.
    private const string Tricky = "Say \"hi\" \\ back\nthen {quantity} and {prompt} and {\"x\": 1} é ✓ </script> & %2F?x=1#y";

    private HttpJsonFakeApi _fake = null!;
    private UpstreamKey _key = null!;
    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        _key = UpstreamKey.Set(app, "HTTPJSON", "key-");
        _fake = app.Own(await HttpJsonFakeApi.StartAsync());
        // Where, how and with which key: operator config. The query in "items"' path is the operator's too.
        await app.PushConfigAsync("svc_handlers", Profiles());
        await app.ApplyCatalogAsync($$$"""
            handlers:
              - {id: http.json, credits: 1, resource: acme}
            offers:
              - service: text
                action: items
                handler: http.json
                price: {{{Price}}}
                create_qty: 2
                prompt_template: "{text}"
                params: {"endpoint": "items",
                         "body": {"model": "acme-1", "input": {"text": "{prompt}", "count": "{quantity}", "note": "count {quantity}: {prompt}"},
                                  "literal": "{\"a\": 1}", "list": ["{prompt}", 3, true, null]},
                         "results": "/output/items", "item": "/text",
                         "usage": {"tokens": "/meta/usage/tokens", "images": "/meta/images"},
                         "error": "/error/message"}
              - service: text
                action: bearer
                handler: http.json
                price: {{{Price}}}
                create_qty: 3
                prompt_template: "Name a {thing}"
                params: {"endpoint": "bearer", "body": {"prompt": "{prompt}", "n": "{quantity}"}, "results": "/data", "error": "/detail"}
              - service: image
                action: make
                handler: http.json
                price: {{{Price}}}
                prompt_template: "{text}"
                params: {"endpoint": "bearer", "body": {"text_prompts": [{"text": "{prompt}"}], "samples": "{quantity}"},
                         "results": "/artifacts", "item": "/base64", "results_base64": true, "media_type": "image/png",
                         "usage": {"images": "/count"}}
            """);
        _alice = await app.AddUserAsync("alice", Credits);
        return app;
    }

    /// <summary>
    /// The operator's profiles; a test changes a call field of the module's own profile
    /// (<c>default</c>, outside <c>endpoints</c>) to see who may roll it back.
    /// </summary>
    private string Profiles(string defaultPath = "/v1/run", string defaultHeaders = "{X-Org: acme-org}", string note = "") => $$"""
        http:
          base_url: {{_fake.Address}}
          path: {{defaultPath}}
          headers: {{defaultHeaders}}
          {{note}}
          endpoints:
            items:
              base_url: {{_fake.Address}}
              path: /v2/models/acme/predict?wait=true
              api_key_env: {{_key.Variable}}
              auth: x-api-key
              headers: {X-Org: acme-org, Prefer: wait}
            bearer:
              base_url: {{_fake.Address}}/api
              path: /generate
              method: PUT
              api_key_env: {{_key.Variable}}
        """;

    private Task<string> Submit(string path, object inputs) => _alice.Client.SubmitAsync(path, inputs);

    private Task<JsonObject> End(string id) => SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(10));

    private static string Status(JsonObject request) => request["status"]!.GetValue<string>();

    private static string Message(JsonObject request) => request["error"]!["message"]!.GetValue<string>();

    private void AssertRefunded(string id) => RequestAsserts.AssertRefunded(App, _alice, Credits, id);

    [Fact]
    public async Task NestedResultsAndUsageAreReadAndTheInputArrivesAsTheExactJsonStringInTheBodyOnly()
    {
        _fake.Enqueue(JsonApiReply.Json(200, """
            {"output": {"items": [{"text": "first"}, {"text": "second", "score": 0.5}]}, "meta": {"usage": {"tokens": 31}}, "error": null}
            """));

        var id = await Submit("/svc/text/items/", new { text = Tricky });
        var done = await End(id);

        Assert.Equal("succeeded", Status(done));
        Assert.Equal(["first", "second"], done["results"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal(31, done["usage"]!["tokens"]!.GetValue<long>());
        // A usage pointer that finds nothing records nothing.
        Assert.Null(done["usage"]!["images"]);
        Assert.Equal(Credits - Price, _alice.Balance);

        var call = Assert.Single(_fake.Calls);
        Assert.Equal("POST", call.Method);
        // The URL is the profile's, whole; nothing of the input is in it.
        Assert.Equal("/v2/models/acme/predict", call.Path);
        Assert.Equal("?wait=true", call.Query);
        Assert.DoesNotContain("hi", call.Path + call.Query, StringComparison.Ordinal);
        Assert.DoesNotContain("script", call.Path + call.Query, StringComparison.Ordinal);
        // The credential as the profile says (a header of its own, the key as is), and the fixed headers.
        Assert.Equal(_key.Value, call.Header("x-api-key"));
        Assert.Null(call.Header("Authorization"));
        Assert.Equal("acme-org", call.Header("X-Org"));
        Assert.Equal("wait", call.Header("Prefer"));
        Assert.StartsWith("application/json", call.Header("Content-Type"));

        // Checked on the API's side: the raw body is JSON and each placeholder is a JSON value of its own.
        var body = call.Json;
        Assert.Equal("acme-1", body["model"]!.GetValue<string>());
        Assert.Equal(Tricky, body["input"]!["text"]!.GetValue<string>());
        Assert.Equal(System.Text.Json.JsonValueKind.Number, body["input"]!["count"]!.GetValueKind());
        Assert.Equal(2, body["input"]!["count"]!.GetValue<int>());
        Assert.Equal($"count 2: {Tricky}", body["input"]!["note"]!.GetValue<string>());
        Assert.Equal("{\"a\": 1}", body["literal"]!.GetValue<string>());
        Assert.Equal($$"""[{{System.Text.Json.JsonSerializer.Serialize(Tricky)}},3,true,null]""", body["list"]!.ToJsonString());
    }

    [Fact]
    public async Task AnApiThatReturnsFewerResultsIsAskedAgainForTheRestWithTheProfilesMethodAndBearerKey()
    {
        var replies = 0;
        _fake.Fallback = _ => JsonApiReply.Json(200, $$"""{"data": ["colour #{{Interlocked.Increment(ref replies)}}"]}""");

        var id = await Submit("/svc/text/bearer/", new { thing = "colour" });
        var done = await End(id);

        Assert.Equal("succeeded", Status(done));
        Assert.Equal(1, done["attempts"]!.GetValue<int>());
        Assert.Equal(["colour #1", "colour #2", "colour #3"], done["results"]!.AsArray().Select(r => r!.GetValue<string>()));
        var calls = _fake.Calls;
        Assert.Equal([3, 2, 1], calls.Select(c => c.Json["n"]!.GetValue<int>()));
        Assert.All(calls, c =>
        {
            Assert.Equal("PUT", c.Method);
            Assert.Equal("/api/generate", c.Path);
            Assert.Equal("", c.Query);
            Assert.Equal($"Bearer {_key.Value}", c.Header("Authorization"));
            Assert.Equal("Name a colour", c.Json["prompt"]!.GetValue<string>());
        });
    }

    [Fact]
    public async Task RateLimitingIsRetriedNoSoonerThanRetryAfterSays()
    {
        _fake.Enqueue(
            JsonApiReply.Json(429, """{"detail": "slow down"}""").WithHeader("Retry-After", "1"),
            JsonApiReply.Json(200, """{"data": ["a", "b", "c"]}"""));

        var id = await Submit("/svc/text/bearer/", new { thing = "letter" });
        var done = await End(id);

        Assert.Equal("succeeded", Status(done));
        Assert.Equal(2, done["attempts"]!.GetValue<int>());
        Assert.Equal(["a", "b", "c"], done["results"]!.AsArray().Select(r => r!.GetValue<string>()));
        var calls = _fake.Calls;
        Assert.Equal(2, calls.Count);
        var gap = calls[1].ReceivedAt - calls[0].ReceivedAt;
        Assert.True(gap >= TimeSpan.FromMilliseconds(900), $"the retry came {gap.TotalMilliseconds:0} ms after the 429, before its Retry-After of 1 s");
        Assert.Equal(Credits - Price, _alice.Balance);
    }

    [Fact]
    public async Task ABadRequestFailsAtOnceWithTheMessageAtTheErrorPointerWithTheKeyMasked()
    {
        // An API that repeats the key it was sent: the client must not see it.
        _fake.Enqueue(JsonApiReply.Json(400, $$$"""{"error": {"message": "input too long for acme-1\n(key {{{_key.Value}}})", "type": "invalid_request"}}"""));

        var id = await Submit("/svc/text/items/", new { text = "a very long text" });
        var done = await End(id);

        AssertFailed(done, "upstream_rejected", 1);
        var message = Message(done);
        Assert.Contains("400", message);
        Assert.Contains("input too long for acme-1 (key ***)", message);
        Assert.DoesNotContain(_key.Value, done.ToJsonString());
        Assert.Single(_fake.Calls);
        AssertRefunded(id);
    }

    [Fact]
    public async Task AnErrorInASuccessfulAnswerFailsTheJobWithItsMessage()
    {
        _fake.Enqueue(JsonApiReply.Json(200, """{"output": null, "error": {"message": "blocked by the content policy"}}"""));

        var id = await Submit("/svc/text/items/", new { text = "something" });
        var done = await End(id);

        AssertFailed(done, "upstream_rejected", 1);
        Assert.Contains("blocked by the content policy", Message(done));
        AssertRefunded(id);
    }

    [Fact]
    public async Task AResultsPointerThatFindsNothingFailsTheJobNamingThePointerNotTheBody()
    {
        _fake.Enqueue(JsonApiReply.Json(200, """{"output": {"things": [{"text": "secret-ish answer"}]}}"""));

        var id = await Submit("/svc/text/items/", new { text = "where?" });
        var done = await End(id);

        AssertFailed(done, "upstream_result_not_found", 1);
        Assert.Contains("'/output/items'", Message(done));
        Assert.DoesNotContain("secret-ish", Message(done));
        AssertRefunded(id);
    }

    [Fact]
    public async Task AnElementWithoutTheItemPointerFailsTheJobNamingIt()
    {
        _fake.Enqueue(JsonApiReply.Json(200, """{"output": {"items": [{"text": "one"}, {"content": "two"}]}}"""));

        var id = await Submit("/svc/text/items/", new { text = "which?" });
        var done = await End(id);

        AssertFailed(done, "upstream_result_not_found", 1);
        Assert.Contains("result 1", Message(done));
        Assert.Contains("'/text'", Message(done));
        AssertRefunded(id);
    }

    [Fact]
    public async Task Base64ResultsBecomeBinaryResultsOfTheOffersMediaType()
    {
        var png = new byte[3000];
        new Random(18).NextBytes(png);
        _fake.Enqueue(JsonApiReply.Json(200, $$"""{"artifacts": [{"base64": "{{Convert.ToBase64String(png)}}", "seed": 1}], "count": 1}"""));

        var id = await Submit("/svc/image/make/", new { text = "a red fox" });
        var done = await End(id);

        Assert.Equal("succeeded", Status(done));
        var result = Assert.Single(done["results"]!.AsArray())!;
        Assert.Equal("binary", result["type"]!.GetValue<string>());
        Assert.Equal("image/png", result["media_type"]!.GetValue<string>());
        Assert.Equal(png.Length, result["bytes"]!.GetValue<int>());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(png)), result["sha256"]!.GetValue<string>());
        Assert.Equal(1, done["usage"]!["images"]!.GetValue<long>());
        var call = Assert.Single(_fake.Calls);
        Assert.Equal("a red fox", call.Json["text_prompts"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(1, call.Json["samples"]!.GetValue<int>());
    }

    [Fact]
    public async Task AResultThatIsNotBase64FailsTheJob()
    {
        _fake.Enqueue(JsonApiReply.Json(200, """{"artifacts": [{"base64": "not base64 at all!"}]}"""));

        var id = await Submit("/svc/image/make/", new { text = "a blue fox" });
        var done = await End(id);

        AssertFailed(done, "upstream_result_invalid", 1);
        Assert.Contains("not base64", Message(done));
        AssertRefunded(id);
    }

    [Fact]
    public async Task AnAnswerThatIsNotJsonIsATransientBadResponse()
    {
        _fake.Fallback = _ => JsonApiReply.Json(200, "<html>gateway</html>");

        var id = await Submit("/svc/text/items/", new { text = "html?" });
        var done = await End(id);

        AssertFailed(done, "upstream_bad_response", 3);
        AssertRefunded(id);
    }

    [Fact]
    public async Task ProfileCallFieldsThatCouldMisdirectACallAreRefusedAtPushNamingThePathNotTheValue()
    {
        var file = Path.Combine(App.Store.Path, $"bad-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, $$$"""
            http:
              endpoints:
                get: {base_url: "{{{_fake.Address}}}", method: GET}
                fragment: {base_url: "{{{_fake.Address}}}", path: "/p#frag"}
                relative: {base_url: "{{{_fake.Address}}}", path: "//other.example/x"}
                dots: {base_url: "{{{_fake.Address}}}", path: "/a/../admin"}
                host: {base_url: "{{{_fake.Address}}}", headers: {Host: other.example}}
                twice: {base_url: "{{{_fake.Address}}}", auth: x-api-key, headers: {X-Api-Key: hunter2-not-shown}}
                badauth: {base_url: "{{{_fake.Address}}}", auth: "x api key"}
                encoding: {base_url: "{{{_fake.Address}}}", headers: {Content-Encoding: gzip}}
            """);

        var (exit, _, error) = await App.CliAsync("config", "push", file, "--id", "svc_handlers");

        Assert.NotEqual(0, exit);
        Assert.Contains("svc_handlers.http.endpoints.get.method", error);
        Assert.Contains("svc_handlers.http.endpoints.fragment.path", error);
        Assert.Contains("svc_handlers.http.endpoints.relative.path", error);
        Assert.Contains("svc_handlers.http.endpoints.dots.path", error);
        Assert.Contains("svc_handlers.http.endpoints.host.headers.Host", error);
        Assert.Contains("svc_handlers.http.endpoints.twice.headers.X-Api-Key", error);
        Assert.Contains("svc_handlers.http.endpoints.badauth.auth", error);
        Assert.Contains("svc_handlers.http.endpoints.encoding.headers.Content-Encoding", error);
        Assert.DoesNotContain("hunter2", error);
    }

    [Fact]
    public async Task AnAdminCannotRollBackAChangeOfAProfilesPathOrHeadersButMayRollBackOtherSettings()
    {
        await App.PushConfigAsync("svc_handlers", Profiles(defaultPath: "/v3/other"));                          // 1.1
        await App.PushConfigAsync("svc_handlers", Profiles(defaultPath: "/v3/other", defaultHeaders: "{X-Org: other-org}")); // 1.2
        await App.PushConfigAsync("svc_handlers", Profiles(defaultPath: "/v3/other", defaultHeaders: "{X-Org: other-org}", note: "timeout_note: x")); // 1.3
        var admin = (await App.AddAdminAsync()).Client;

        // 1.3 back to 1.2 changes no call field: an admin may.
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync("/admin/api/configs/svc_handlers/rollback", new { to = "1.2" })).StatusCode);
        // Back to 1.1 changes the fixed headers: the operator's call.
        await Problem(await admin.PostAsJsonAsync("/admin/api/configs/svc_handlers/rollback", new { to = "1.1" }), HttpStatusCode.Forbidden, "endpoint_profiles_operator_only");
        var (exit, _, error) = await App.CliAsync("config", "rollback", "svc_handlers", "--to", "1.1");
        Assert.True(exit == 0, error);
        // From 1.1 back to 1.0 changes the path alone: the operator's call too.
        await Problem(await admin.PostAsJsonAsync("/admin/api/configs/svc_handlers/rollback", new { to = "1.0" }), HttpStatusCode.Forbidden, "endpoint_profiles_operator_only");
    }

    [Fact]
    public async Task TheExampleProfilesPushAndTheExampleOfferPassesItsCheck()
    {
        var root = Switchboard.Tests.OpenApi.OpenApiClientTests.RepoRoot();
        var (exit, _, error) = await App.CliAsync("config", "push", Path.Combine(root, "examples", "svc_handlers.yaml"), "--id", "svc_handlers");
        Assert.True(exit == 0, error);

        (exit, _, error) = await App.CliAsync("catalog", "apply", Path.Combine(root, "examples", "catalog.yaml"));
        Assert.True(exit == 0, error);

        var handler = App.Server.Services.GetRequiredService<Switchboard.Handlers.HandlerRegistry>().Find("http.json")!;
        var offer = (JsonObject)JsonNode.Parse(App.Query(c => c.Scalar<string>("SELECT params FROM offers WHERE service = 'text' AND action = 'sentiment'")!))!;
        Assert.Equal("sentiment", offer["endpoint"]!.GetValue<string>());
        Assert.Empty(handler.CheckParams(offer));
    }

    [Fact]
    public async Task TheHandlerChecksItsParamsNamingEachKey()
    {
        var handler = App.Server.Services.GetRequiredService<Switchboard.Handlers.HandlerRegistry>().Find("http.json")!;

        var problems = handler.CheckParams(new JsonObject
        {
            ["body"] = new JsonObject { ["q"] = "{question}", ["all"] = "see {input}" },
            ["results"] = "output/items",
            ["usage"] = new JsonObject { ["tokens"] = "/u/~2", ["Bad Name"] = "/x" },
            ["media_type"] = "image/png",
            ["result"] = "/typo",
        }).ToList();

        Assert.Contains(("results", "not a JSON Pointer (RFC 6901, such as /output/items)"), problems);
        Assert.Contains(problems, p => p.Key == "body" && p.Problem.Contains("/q") && p.Problem.Contains("{question}"));
        Assert.Contains(problems, p => p.Key == "body" && p.Problem.Contains("/all") && p.Problem.Contains("{input} must be the whole string"));
        Assert.Contains(problems, p => p.Key == "usage.tokens" && p.Problem.StartsWith("not a JSON Pointer"));
        Assert.Contains(problems, p => p.Key == "usage.Bad Name");
        Assert.Contains(problems, p => p.Key == "media_type" && p.Problem.Contains("results_base64"));
        Assert.Contains(problems, p => p.Key == "result" && p.Problem.StartsWith("is not a param of http.json"));
        Assert.Empty(handler.CheckParams(new JsonObject { ["body"] = new JsonObject { ["inputs"] = "{prompt}" }, ["results"] = "", ["timeout_s"] = 5 }));
        Assert.Equal("default", handler.EndpointProfileFor(new JsonObject()));
    }
}
