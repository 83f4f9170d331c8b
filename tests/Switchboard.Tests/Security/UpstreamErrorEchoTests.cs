namespace Switchboard.Tests.Security;

/// <summary>
/// What a client sees of an upstream failure: the status and at most a short error token, never
/// the upstream's text (which may repeat a key), never an environment variable's name.
/// </summary>
public sealed class UpstreamErrorEchoTests : AppTests
{
    private const string Secret = "sk-live-0123456789abcdefSECRET";

    private readonly string _unsetVariable = $"SWITCHBOARD_TEST_UNSET_{TestNames.Short()}";
    private FakeOpenAi _upstream = null!;
    private HttpClient _client = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(Storage.StoreKind.Sqlite);
        _upstream = app.Own(await FakeOpenAi.StartAsync());
        await app.PushConfigAsync("svc_handlers", $$"""
            openai:
              base_url: {{_upstream.BaseUrl}}
              endpoints:
                nokey: {base_url: "{{_upstream.BaseUrl}}", api_key_env: {{_unsetVariable}}}
            """);
        await app.ApplyCatalogAsync("""
            handlers:
              - {id: openai.chat, credits: 1}
            offers:
              - {service: chat, action: ask, handler: openai.chat, price: 1, prompt_template: "Q {q}", params: {model: m}}
              - {service: chat, action: nokey, handler: openai.chat, price: 1, prompt_template: "Q {q}", params: {model: m, endpoint: nokey}}
            """);
        _client = (await app.AddUserAsync("alice", 100)).Client;
        return app;
    }

    private async Task<JsonObject> Run(string action)
    {
        var id = await SwitchboardFactory.IdOf(await _client.PostAsJsonAsync($"/svc/chat/{action}/", new { q = "x" }));
        return await SwitchboardFactory.WaitForEnd(_client, id, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task AnUpstreamErrorMessageWithASecretIsNotEchoedOnlyItsStatusAndCode()
    {
        _upstream.Enqueue(FakeReply.Json(400, new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = $"You sent {Secret}, which is wrong", ["type"] = "invalid_request_error", ["code"] = "invalid_api_key" },
        }));

        var done = await Run("ask");

        Assert.Equal("upstream_rejected", done["error"]!["code"]!.GetValue<string>());
        var message = done["error"]!["message"]!.GetValue<string>();
        Assert.Contains("400", message);
        Assert.Contains("invalid_api_key", message);
        Assert.DoesNotContain(Secret, done.ToJsonString());
        Assert.DoesNotContain("which is wrong", message);
    }

    [Fact]
    public async Task AnErrorCodeThatIsNotAShortTokenIsNotEchoedEither()
    {
        _upstream.Enqueue(FakeReply.Json(422, new JsonObject { ["error"] = new JsonObject { ["code"] = $"bad key {Secret}", ["type"] = new string('t', 200) } }));

        var done = await Run("ask");

        Assert.Equal("upstream_rejected", done["error"]!["code"]!.GetValue<string>());
        Assert.Equal("the upstream API rejected the call (422)", done["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task AMissingCredentialIsReportedWithoutNamingItsVariable()
    {
        // Issue 16: refused at submit (503) rather than failed after the charge.
        var response = await _client.PostAsJsonAsync("/svc/chat/nokey/", new { q = "x" });
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("handler_misconfigured", JsonNode.Parse(text)!["code"]!.GetValue<string>());
        Assert.DoesNotContain(_unsetVariable, text);
        Assert.DoesNotContain("api_key_env", text);
        Assert.Empty(_upstream.Calls);
    }
}
