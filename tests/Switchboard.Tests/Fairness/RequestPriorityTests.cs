namespace Switchboard.Tests.Fairness;

/// <summary>
/// A purchase's priority (Requests/RequestPriority.cs): the offer's <c>params.priority</c>
/// shifted by the user's, replaced by a <c>Priority</c> header within what the user may ask;
/// bad or too-high headers are problems with nothing stored or charged; the level is on the
/// request object, in the admin API, on a deal's steps, and kept by an admin's retry.
/// </summary>
public sealed class RequestPriorityTests : AppTests
{
    private TestUser _plain = null!;
    private TestUser _low = null!;
    private TestUser _boss = null!;
    private TestUser _root = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite, catalog: TestCatalogs.OnEchoRender("""
            offers:
              - {service: text, action: plain, handler: echo.render, price: 2, prompt_template: "Plain {n}"}
              - {service: text, action: urgent, handler: echo.render, price: 2, prompt_template: "Urgent {n}", params: {priority: 7}}
              - {service: text, action: broken, handler: echo.render, price: 2, prompt_template: "Broken {n}", params: {fail: true, priority: 3}}
            deals:
              - name: pair
                offers:
                  - {offer: text/plain, pipeline: none}
                  - {offer: text/urgent, pipeline: none}
            """));
        _plain = await app.AddUserAsync("plain", 100);
        _low = await app.AddUserAsync("low", 100);
        _boss = await app.AddUserAsync("boss", 100);
        _root = await app.AddAdminAsync();
        await app.Store.Store.WriteAsync(c => c.Execute("UPDATE users SET priority = 3 WHERE id = @id", ("@id", _low.Id)));
        await app.Store.Store.WriteAsync(c => c.Execute("UPDATE users SET priority = 6, max_priority = 8 WHERE id = @id", ("@id", _boss.Id)));
        return app;
    }

    private static Task<HttpResponseMessage> Post(TestUser user, string path, string? priority, object? body = null)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body ?? new { n = 1 }) };
        if (priority is not null)
        {
            message.Headers.TryAddWithoutValidation("Priority", priority);
        }
        return user.Client.SendAsync(message);
    }

    private async Task<int> PriorityOf(TestUser user, string path, string? header = null)
    {
        var response = await Post(user, path, header, new { n = Guid.NewGuid().ToString("N") });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = await SwitchboardFactory.IdOf(response);
        return (await SwitchboardFactory.Get(user.Client, id))["priority"]!.GetValue<int>();
    }

    [Fact]
    public async Task TheOffersLevelIsShiftedByTheUsersAndAHeaderReplacesItWithinTheUsersMaximum()
    {
        Assert.Equal(5, await PriorityOf(_plain, "/svc/text/plain/"));
        Assert.Equal(7, await PriorityOf(_plain, "/svc/text/urgent/"));
        // User priority 3: two below the default, on both offers.
        Assert.Equal(3, await PriorityOf(_low, "/svc/text/plain/"));
        Assert.Equal(5, await PriorityOf(_low, "/svc/text/urgent/"));
        // 6 (+1): the urgent offer goes to 8; the header may ask up to max(8, max_priority 8).
        Assert.Equal(8, await PriorityOf(_boss, "/svc/text/urgent/"));
        Assert.Equal(8, await PriorityOf(_boss, "/svc/text/plain/", "8"));
        // Lower is always allowed; the urgent offer's own level is allowed to a plain user.
        Assert.Equal(0, await PriorityOf(_plain, "/svc/text/plain/", "0"));
        Assert.Equal(7, await PriorityOf(_plain, "/svc/text/urgent/", "7"));
        // A browser's RFC 9218 transport hint is not a request for a level.
        Assert.Equal(5, await PriorityOf(_plain, "/svc/text/plain/", "u=1, i"));
    }

    [Theory]
    [InlineData("high")]
    [InlineData("10")]
    [InlineData("-1")]
    [InlineData("5.0")]
    [InlineData(" ")]
    [InlineData("5, 6")]
    [InlineData("u=9")]
    public async Task ABadPriorityHeaderIs400AndNothingIsStoredOrCharged(string header)
    {
        var response = await Post(_plain, "/svc/text/plain/", header);
        await Problem(response, HttpStatusCode.BadRequest, "invalid_priority");
        Assert.Equal(0, Ledger.RequestCount(App.Store));
        Assert.Equal(100, _plain.Balance);
    }

    [Fact]
    public async Task AskingAboveWhatTheUserMayIs403AndNothingIsStoredOrCharged()
    {
        var problem = await Problem(await Post(_plain, "/svc/text/plain/", "6"), HttpStatusCode.Forbidden, "priority_not_allowed");
        Assert.Equal(5, problem["max_priority"]!.GetValue<int>());
        await Problem(await Post(_boss, "/svc/text/urgent/", "9"), HttpStatusCode.Forbidden, "priority_not_allowed");
        await Problem(await Post(_plain, "/svc/deal/pair/", "6", new { inputs = new { n = 1 } }), HttpStatusCode.Forbidden, "priority_not_allowed");
        await Problem(await Post(_plain, "/svc/deal/pair/", "x", new { inputs = new { n = 1 } }), HttpStatusCode.BadRequest, "invalid_priority");
        Assert.Equal(0, Ledger.RequestCount(App.Store));
        Assert.Equal(100, _plain.Balance);
        Assert.Equal(100, _boss.Balance);
    }

    [Fact]
    public async Task ADealsStepsTakeTheDealsPriority()
    {
        var response = await Post(_low, "/svc/deal/pair/", "2", new { inputs = new { n = 1 } });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = await SwitchboardFactory.IdOf(response);
        var deal = await SwitchboardFactory.WaitForEnd(_low.Client, id);
        Assert.Equal("succeeded", deal["status"]!.GetValue<string>());
        Assert.Equal(2, deal["priority"]!.GetValue<int>());
        Assert.Equal([2L, 2L], App.Query(c =>
        {
            using var command = c.Sql("SELECT priority FROM requests WHERE parent = @id ORDER BY step", ("@id", id));
            using var reader = command.ExecuteReader();
            var levels = new List<long>();
            while (reader.Read())
            {
                levels.Add(reader.GetInt64(0));
            }
            return levels;
        }));
    }

    [Fact]
    public async Task TheAdminApiShowsThePriorityAndARetryKeepsIt()
    {
        var response = await Post(_plain, "/svc/text/broken/", "1");
        var id = await SwitchboardFactory.IdOf(response);
        await SwitchboardFactory.WaitFor(_plain.Client, id, TimeSpan.FromSeconds(20), "failed");

        var view = (await _root.Client.GetFromJsonAsync<JsonObject>($"/admin/api/requests/{id}"))!;
        Assert.Equal(1, view["priority"]!.GetValue<int>());
        var list = (await _root.Client.GetFromJsonAsync<JsonObject>("/admin/api/requests?user=plain"))!["requests"]!.AsArray();
        Assert.Equal(1, list.Single()!["priority"]!.GetValue<int>());

        Assert.Equal(HttpStatusCode.Accepted, (await _root.Client.PostAsync($"/admin/api/requests/{id}/retry", null)).StatusCode);
        var again = await SwitchboardFactory.WaitFor(_plain.Client, id, TimeSpan.FromSeconds(20), "failed");
        Assert.Equal(2, again["run"]!.GetValue<int>());
        Assert.Equal(1, again["priority"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("12")]
    [InlineData("-1")]
    [InlineData("high")]
    [InlineData("2.5")]
    public async Task AnOffersPriorityOutsideZeroToNineIsACatalogError(string value)
    {
        var (exit, _, error) = await App.TryApplyCatalogAsync(TestCatalogs.OnEchoRender($$$"""
            offers:
              - {service: text, action: odd, handler: echo.render, price: 1, prompt_template: "x", params: {priority: {{{value}}}}}
            """));
        Assert.NotEqual(0, exit);
        Assert.Contains("params.priority", error);
        Assert.Null(App.Query(c => c.Scalar<string>("SELECT action FROM offers WHERE action = 'odd'")));
    }
}
