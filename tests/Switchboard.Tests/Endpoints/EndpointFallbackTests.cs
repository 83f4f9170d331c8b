using Switchboard.Observability;

namespace Switchboard.Tests.Endpoints;

/// <summary>
/// An offer with two endpoint profiles, <c>primary</c> and <c>backup</c>, each a fake
/// OpenAI-compatible server on 127.0.0.1, with <c>endpoint_policy: fallback</c>: a transient
/// failure (an error status, a timeout) at the primary is a new attempt at the backup, the
/// client sees a success, the user pays once, and the admin view lists both attempts.
/// On both stores: the attempt path (retry write, re-claim, success) is the store's.
/// </summary>
public abstract class EndpointFallbackTests(StoreKind kind) : AppTests
{
    private const long Credits = 100;
    private const long Price = 10;

    private FakeOpenAi _primary = null!;
    private FakeOpenAi _backup = null!;
    private TestUser _alice = null!;
    private TestUser _root = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind);
        _primary = app.Own(await FakeOpenAi.StartAsync());
        _backup = app.Own(await FakeOpenAi.StartAsync());
        await app.PushConfigAsync("svc_handlers", $$"""
            openai:
              endpoints:
                primary: {base_url: "{{_primary.BaseUrl}}"}
                backup: {base_url: "{{_backup.BaseUrl}}"}
            """);
        await app.ApplyCatalogAsync($$"""
            handlers:
              - {id: openai.chat, credits: 1}
            offers:
              - {service: chat, action: ask, handler: openai.chat, price: {{Price}}, prompt_template: "Q {n}",
                 params: {model: m, endpoints: [primary, backup], endpoint_policy: fallback} }
              - {service: chat, action: quick, handler: openai.chat, price: {{Price}}, prompt_template: "Quick {n}",
                 params: {model: m, timeout_s: 0.5, endpoints: [primary, backup]} }
            """);
        _alice = await app.AddUserAsync("alice", Credits);
        _root = await app.AddAdminAsync();
        return app;
    }

    [Fact]
    public async Task AFailingEndpointFallsBackToTheNextWithNoClientErrorAndOneCharge()
    {
        _primary.Fallback = _ => FakeReply.Error(503, "overloaded");

        var id = await _alice.Client.SubmitAsync("/svc/chat/ask/", new { n = 1 });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id);

        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Null(done["error"]);
        Assert.Equal(2, done["attempts"]!.GetValue<int>());
        Assert.Equal("backup", done["endpoint"]!.GetValue<string>());
        Assert.Single(_primary.Calls);
        Assert.Single(_backup.Calls);
        // Charged once, never refunded, whatever the primary may have billed.
        Assert.Equal(1, Ledger.Count(App.Store, "charge", id));
        Assert.Equal(0, Ledger.Count(App.Store, "refund", id));
        Assert.Equal(Credits - Price, _alice.Balance);
        Ledger.AssertBalanced(App.Store);

        // Each attempt's endpoint, in the admin view (and the stored row).
        var detail = await _root.Client.GetFromJsonAsync<JsonObject>($"/admin/api/requests/{id}");
        var attempts = detail!["usage"]!["endpoint_attempts"]!.AsArray();
        Assert.Equal(2, attempts.Count);
        Assert.Equal(1, attempts[0]!["attempt"]!.GetValue<int>());
        Assert.Equal("primary", attempts[0]!["endpoint"]!.GetValue<string>());
        Assert.Equal("upstream_error", attempts[0]!["error"]!.GetValue<string>());
        Assert.Equal(2, attempts[1]!["attempt"]!.GetValue<int>());
        Assert.Equal("backup", attempts[1]!["endpoint"]!.GetValue<string>());
        Assert.Null(attempts[1]!["error"]);
        Assert.Equal("backup", detail["endpoint"]!.GetValue<string>());
        Assert.Equal("backup", App.Query(c => c.Scalar<string>("SELECT endpoint FROM requests WHERE id = @id", ("@id", id))));
    }

    [Fact]
    public async Task ATimedOutCallFallsBackToo()
    {
        _primary.Fallback = call => FakeOpenAi.ByPath(call).After(TimeSpan.FromSeconds(5));

        var id = await _alice.Client.SubmitAsync("/svc/chat/quick/", new { n = 2 });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id);

        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        Assert.Equal("backup", done["endpoint"]!.GetValue<string>());
        Assert.Equal("timeout", done["usage"]!["endpoint_attempts"]![0]!["error"]!.GetValue<string>());
        Assert.Single(_backup.Calls);
        Assert.Equal(1, Ledger.Count(App.Store, "charge", id));
        Assert.Equal(Credits - Price, _alice.Balance);
    }

    [Fact]
    public async Task WhenEveryEndpointFailsTheRequestFailsAfterTryingEachAndIsRefundedOnce()
    {
        _primary.Fallback = _ => FakeReply.Error(503, "down");
        _backup.Fallback = _ => FakeReply.Error(500, "down too");

        var id = await _alice.Client.SubmitAsync("/svc/chat/ask/", new { n = 3 });
        var done = await SwitchboardFactory.WaitForEnd(_alice.Client, id);

        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Equal("upstream_error", done["error"]!["code"]!.GetValue<string>());
        // max_attempts (3) covers both endpoints: primary, backup, then primary again after the backoff.
        Assert.Equal(3, done["attempts"]!.GetValue<int>());
        Assert.Equal(["primary", "backup", "primary"], done["usage"]!["endpoint_attempts"]!.AsArray().Select(a => a!["endpoint"]!.GetValue<string>()));
        Assert.Equal(1, Ledger.Count(App.Store, "charge", id));
        Assert.Equal(1, Ledger.Count(App.Store, "refund", id));
        Assert.Equal(Credits, _alice.Balance);
        Ledger.AssertBalanced(App.Store);
    }
}

public sealed class EndpointFallbackOnSqlite() : EndpointFallbackTests(StoreKind.Sqlite);

public sealed class EndpointFallbackOnPostgres() : EndpointFallbackTests(StoreKind.Postgres);
