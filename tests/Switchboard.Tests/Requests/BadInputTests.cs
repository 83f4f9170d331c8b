using System.Text;

namespace Switchboard.Tests.Requests;

/// <summary>
/// Every bad input gets application/problem+json with a stable code; none is a 500, none
/// stores a request, none charges.
/// </summary>
public abstract class BadInputTests(StoreKind kind) : AppTests
{
    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, new() { ["Switchboard:MaxBodyBytes"] = "1024", ["Switchboard:MaxValueChars"] = "50" }, catalog: TestCatalogs.OnEchoRender("""
            offers:
              - {service: text, action: shout, handler: echo.render, price: 5, prompt_template: "Say {word} loudly to {name}", create_qty: 1}
              - {service: text, action: pricey, handler: echo.render, price: 500, prompt_template: "Expensive {word}"}
              - {service: text, action: off, handler: echo.render, price: 1, prompt_template: "Off {word}", enabled: false}
            """));
        _alice = await app.AddUserAsync("alice", 100);
        return app;
    }

    private Task<HttpResponseMessage> PostRaw(string path, string body, string? contentType = "application/json", HttpClient? client = null)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        if (contentType is not null)
        {
            content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        }
        return (client ?? _alice.Client).PostAsync(path, content);
    }

    /// <summary>Asserts the problem shape and that nothing was stored or charged.</summary>
    private async Task<JsonObject> AssertProblem(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var problem = await Problem(response, status, code);
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(problem["title"]?.GetValue<string>()));
        Assert.Equal(0, Ledger.RequestCount(App.Store));
        Assert.Equal(100, _alice.Balance);
        return problem;
    }

    [Fact]
    public async Task NoApiKeyIs401()
    {
        var anonymous = App.CreateClient();
        var response = await PostRaw("/svc/text/shout/", """{"word":"a","name":"b"}""", client: anonymous);
        await AssertProblem(response, HttpStatusCode.Unauthorized, "missing_api_key");
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task AnUnknownApiKeyIs401()
    {
        var stranger = App.ClientFor("sb_nothere1_" + new string('x', 40));
        await AssertProblem(await PostRaw("/svc/text/shout/", """{"word":"a","name":"b"}""", client: stranger), HttpStatusCode.Unauthorized, "invalid_api_key");
    }

    [Fact]
    public async Task ARevokedApiKeyIs401()
    {
        Assert.Equal(HttpStatusCode.OK, (await _alice.Client.GetAsync("/svc/me/")).StatusCode);
        var (exit, _, error) = await App.CliAsync("keys", "revoke", _alice.Key[..11]);
        Assert.True(exit == 0, error);
        App.Refresh();

        await AssertProblem(await PostRaw("/svc/text/shout/", """{"word":"a","name":"b"}"""), HttpStatusCode.Unauthorized, "invalid_api_key");
    }

    [Theory]
    [InlineData("/svc/nope/shout/", "unknown_service")]
    [InlineData("/svc/text/nope/", "unknown_action")]
    [InlineData("/svc/text/off/", "unknown_action")]
    [InlineData("/svc/request/abc/", "unknown_service")]
    public async Task AnUnknownOrDisabledOfferIs404(string path, string code) =>
        await AssertProblem(await PostRaw(path, """{"word":"a"}"""), HttpStatusCode.NotFound, code);

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData(null)]
    public async Task ABodyThatIsNotDeclaredJsonIs415(string? contentType) =>
        await AssertProblem(await PostRaw("/svc/text/shout/", """{"word":"a","name":"b"}""", contentType), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");

    [Theory]
    [InlineData("{\"word\": ")]
    [InlineData("not json")]
    [InlineData("")]
    [InlineData("{\"word\":\"a\",\"name\":\"b\"} trailing")]
    [InlineData("{\"word\":\"\\ud800\",\"name\":\"b\"}")]
    [InlineData("{\"\\udc00\":\"a\",\"name\":\"b\"}")]
    public async Task ABodyThatIsNotJsonIs400(string body) =>
        await AssertProblem(await PostRaw("/svc/text/shout/", body), HttpStatusCode.BadRequest, "invalid_json");

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("\"word\"")]
    [InlineData("42")]
    [InlineData("null")]
    public async Task ABodyThatIsNotAnObjectIs400(string body) =>
        await AssertProblem(await PostRaw("/svc/text/shout/", body), HttpStatusCode.BadRequest, "body_not_object");

    [Theory]
    [InlineData("""{"word":"a"}""", "name", "is required")]
    [InlineData("""{"word":"a","name":"b","extra":"c"}""", "extra", "is not an input of this action")]
    [InlineData("""{"word":true,"name":"b"}""", "word", "must be a string or a number, not a boolean")]
    [InlineData("""{"word":{"x":1},"name":"b"}""", "word", "must be a string or a number, not an object")]
    [InlineData("""{"word":[1],"name":"b"}""", "word", "must be a string or a number, not an array")]
    [InlineData("""{"word":null,"name":"b"}""", "word", "must be a string or a number, not null")]
    [InlineData("""{"word":"a","word":"again","name":"b"}""", "word", "is given more than once")]
    [InlineData("""{"word":"012345678901234567890123456789012345678901234567890123456789","name":"b"}""", "word", "is longer than 50 characters")]
    public async Task InvalidInputsAre400NamingEachField(string body, string field, string message)
    {
        var problem = await AssertProblem(await PostRaw("/svc/text/shout/", body), HttpStatusCode.BadRequest, "invalid_inputs");
        Assert.Equal(message, problem["errors"]![field]!.GetValue<string>());
    }

    [Fact]
    public async Task EveryInvalidFieldIsNamedInOneAnswer()
    {
        var problem = await AssertProblem(await PostRaw("/svc/text/shout/", """{"word":false,"other":1}"""), HttpStatusCode.BadRequest, "invalid_inputs");
        var errors = problem["errors"]!.AsObject();
        Assert.Equal(["name", "other", "word"], errors.Select(e => e.Key).Order());
    }

    [Fact]
    public async Task AnOversizedBodyIs413()
    {
        var body = $$"""{"word":"a","name":"{{new string('x', 2000)}}"}""";
        await AssertProblem(await PostRaw("/svc/text/shout/", body), HttpStatusCode.RequestEntityTooLarge, "body_too_large");
    }

    [Fact]
    public async Task AnOversizedChunkedBodyWithoutContentLengthIs413()
    {
        var body = $$"""{"word":"a","name":"{{new string('x', 2000)}}"}""";
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
        content.Headers.ContentType = new("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/svc/text/shout/") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        await AssertProblem(await _alice.Client.SendAsync(request), HttpStatusCode.RequestEntityTooLarge, "body_too_large");
    }

    [Fact]
    public async Task ATooLongIdempotencyKeyIs400()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/svc/text/shout/") { Content = JsonContent.Create(new { word = "a", name = "b" }) };
        request.Headers.Add("Idempotency-Key", new string('k', 300));
        await AssertProblem(await _alice.Client.SendAsync(request), HttpStatusCode.BadRequest, "invalid_idempotency_key");
    }

    [Fact]
    public async Task NotEnoughCreditsIs402AndStoresNothing()
    {
        var problem = await AssertProblem(await PostRaw("/svc/text/pricey/", """{"word":"a"}"""), HttpStatusCode.PaymentRequired, "insufficient_credits");
        Assert.Equal(100, problem["balance"]!.GetValue<long>());
        Assert.Equal(500, problem["price"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("not-an-id")]
    [InlineData("ABCDEF0123456789ABCDEF0123456789")]
    [InlineData("0123456789abcdef0123456789abcde")]
    [InlineData("0123456789abcdef0123456789abcdef0")]
    public async Task AMalformedRequestIdIs400(string id)
    {
        await AssertProblem(await _alice.Client.GetAsync($"/svc/request/{id}/"), HttpStatusCode.BadRequest, "invalid_request_id");
        await AssertProblem(await _alice.Client.DeleteAsync($"/svc/request/{id}/"), HttpStatusCode.BadRequest, "invalid_request_id");
    }

    [Fact]
    public async Task AWellFormedButUnknownRequestIdIs404() =>
        await AssertProblem(await _alice.Client.GetAsync($"/svc/request/{new string('a', 32)}/"), HttpStatusCode.NotFound, "request_not_found");

    [Fact]
    public async Task UnknownPathsAndMethodsAreProblemsToo()
    {
        await AssertProblem(await _alice.Client.GetAsync("/nowhere"), HttpStatusCode.NotFound, "not_found");
        await AssertProblem(await _alice.Client.PutAsync("/svc/me/", new StringContent("")), HttpStatusCode.MethodNotAllowed, "method_not_allowed");
    }

    [Fact]
    public async Task TemplateSyntaxInAValueIsRenderedLiterallyNeverExpanded()
    {
        var id = await _alice.Client.SubmitAsync("/svc/text/shout/", new { word = "{name}", name = "{{word}} {0} {word}" });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id);
        Assert.Equal("Say {name} loudly to {{word}} {0} {word} #1", done["results"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task AFailingStoreIs503AndChargesNothing()
    {
        Assert.Equal(HttpStatusCode.OK, (await _alice.Client.GetAsync("/svc/me/")).StatusCode);
        Ledger.Query(App.Store, c => Storage.SqlExtensions.Execute(c, "ALTER TABLE requests RENAME TO requests_gone"));

        await AssertStoreUnavailable(await PostRaw("/svc/text/shout/", """{"word":"a","name":"b"}"""));
        await AssertStoreUnavailable(await _alice.Client.GetAsync($"/svc/request/{new string('a', 32)}/"));
        await AssertStoreUnavailable(await _alice.Client.DeleteAsync($"/svc/request/{new string('a', 32)}/"));
        Assert.Equal(100, _alice.Balance);
        Assert.Equal(0, Ledger.Query(App.Store, c => Storage.SqlExtensions.Scalar<long>(c, "SELECT COUNT(*) FROM ledger WHERE kind = 'charge'")));
        // The store back as it was: the credits audit after the test proves the outage left no trace.
        Ledger.Query(App.Store, c => Storage.SqlExtensions.Execute(c, "ALTER TABLE requests_gone RENAME TO requests"));
        Assert.Equal(HttpStatusCode.Accepted, (await PostRaw("/svc/text/shout/", """{"word":"a","name":"b"}""")).StatusCode);
    }

    private static async Task AssertStoreUnavailable(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("store_unavailable", (await response.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task TrailingSlashesAreOptional()
    {
        Assert.Equal(HttpStatusCode.OK, (await _alice.Client.GetAsync("/svc/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _alice.Client.GetAsync("/svc")).StatusCode);
        var response = await _alice.Client.PostAsJsonAsync("/svc/text/shout", new { word = "a", name = "b" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }
}

public sealed class BadInputOnSqlite() : BadInputTests(StoreKind.Sqlite);

public sealed class BadInputOnPostgres() : BadInputTests(StoreKind.Postgres);
