namespace Switchboard.Tests.Groups;

/// <summary>
/// <c>serve --handlers</c> on one process: the other handlers' jobs wait for an executor, say so
/// (<c>waiting_for: "executor"</c>), and fail with <c>no_executor</c>, refunded, after
/// <c>recon.no_executor_fail_s</c>; the served handler's jobs run. On both stores.
/// </summary>
public abstract class NoExecutorTests(StoreKind kind) : AppTests
{
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: work, action: echo, handler: echo.render, price: 5, prompt_template: "Work on {n}"}
        """);

    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        // This process serves openai.* only: nothing runs echo.render.
        var app = await TestApp.StartAsync(kind, new Dictionary<string, string?> { ["Switchboard:Handlers"] = "openai.*" }, Catalog);
        await app.PushConfigAsync("recon", "no_executor_fail_s: 3\nalerts: {no_executor_s: 1}\n");
        _alice = await app.AddUserAsync("alice", 100);
        return app;
    }

    [Fact]
    public async Task AJobNoExecutorServesWaitsForOneThenFailsWithNoExecutorAndIsRefunded()
    {
        var response = await _alice.Client.PostAsJsonAsync("/svc/work/echo/", new { n = 1 });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = await SwitchboardFactory.IdOf(response);
        Assert.Equal(95, _alice.Balance);

        var waiting = await Wait.ForValue(async () =>
        {
            var request = await SwitchboardFactory.Get(_alice.Client, id);
            return request["status"]!.GetValue<string>() == "queued" ? request["waiting_for"]?.GetValue<string>() : "status " + request["status"];
        }, "executor", TimeSpan.FromSeconds(10), "the queued request to show what it waits for");
        Assert.Equal("executor", waiting);

        var failed = await SwitchboardFactory.WaitForEnd(_alice.Client, id, TimeSpan.FromSeconds(20));

        Assert.Equal("failed", failed["status"]!.GetValue<string>());
        Assert.Equal("no_executor", failed["error"]!["code"]!.GetValue<string>());
        Assert.Null(failed["waiting_for"]);
        Assert.Equal(100, _alice.Balance);
        Assert.Equal(1, App.Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM ledger WHERE request_id = @id AND kind = 'refund'", ("@id", id))));
        Ledger.AssertBalanced(App.Store);
    }

    [Fact]
    public async Task TheAdminApiShowsTheGroupItsHandlersAndTheHandlersNoExecutorServes()
    {
        var root = await App.AddAdminAsync();
        await _alice.Client.SubmitAsync("/svc/work/echo/", new { n = 1 });

        var answer = await root.Client.GetFromJsonAsync<JsonObject>("/admin/api/executors");

        var group = Assert.Single(answer!["groups"]!.AsArray())!;
        Assert.Equal("openai.*", group["group"]!.GetValue<string>());
        Assert.Equal(["openai.*"], group["patterns"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Contains("openai.chat", group["handlers"]!.AsArray().Select(h => h!.GetValue<string>()));
        Assert.DoesNotContain("echo.render", group["handlers"]!.AsArray().Select(h => h!.GetValue<string>()));
        Assert.Single(group["executors"]!.AsArray());
        Assert.Equal(0, group["backlog"]!.GetValue<long>());
        var unserved = Assert.Single(answer["unserved"]!.AsArray())!;
        Assert.Equal("echo.render", unserved["handler"]!.GetValue<string>());
        Assert.Equal(1, unserved["queued"]!.GetValue<long>());
        // A client is not an admin.
        Assert.Equal(HttpStatusCode.Forbidden, (await _alice.Client.GetAsync("/admin/api/executors")).StatusCode);
    }
}

public sealed class NoExecutorTestsOnSqlite() : NoExecutorTests(StoreKind.Sqlite);

public sealed class NoExecutorTestsOnPostgres() : NoExecutorTests(StoreKind.Postgres);
