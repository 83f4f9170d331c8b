namespace Switchboard.Tests.Fairness;

/// <summary>
/// An embedded app with one worker that a test can hold: <see cref="HoldAsync"/> gives the worker
/// a job that runs until <see cref="ReleaseAsync"/> cancels it (refunded), so everything submitted
/// in between waits in the queue, and once released runs one at a time in the queue's order,
/// read back from the rows' <c>started_at</c> (each job runs a few milliseconds, so starts
/// never share a millisecond).
/// </summary>
public sealed class HeldQueue : IAsyncDisposable
{
    public const string Catalog = """
        handlers:
          - {id: echo.render, credits: 1}
        offers:
          - {service: hold, action: on, handler: echo.render, price: 1, prompt_template: "Hold {n}", params: {delay_ms: 600000}}
          - {service: work, action: do, handler: echo.render, price: 1, prompt_template: "Do {n}", create_qty: 1, params: {delay_ms: 3}}
        """;

    private TestUser _holder = null!;
    private string? _held;

    private HeldQueue(TestApp app) => App = app;

    public TestApp App { get; }

    /// <summary>One worker; <paramref name="settings"/> on top (Fair, PriorityAgeStep).</summary>
    public static async Task<HeldQueue> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(settings ?? []) { ["Switchboard:Workers"] = "1" };
        var queue = new HeldQueue(await TestApp.StartAsync(StoreKind.Sqlite, all, Catalog));
        queue._holder = await queue.App.AddUserAsync("holder", 100);
        return queue;
    }

    /// <summary>A user with its own settings (weight, priority, max_priority), written before its key is first used.</summary>
    public async Task<TestUser> UserAsync(string name, int? weight = null, int? priority = null, int? maxPriority = null)
    {
        var user = await App.AddUserAsync(name, 100_000);
        await App.Store.Store.WriteAsync(c => c.Execute(
            "UPDATE users SET weight = @w, priority = @p, max_priority = @m WHERE id = @id",
            ("@w", weight), ("@p", priority), ("@m", maxPriority), ("@id", user.Id)));
        return user;
    }

    /// <summary>The worker runs the holder's endless job: nothing else starts until <see cref="ReleaseAsync"/>.</summary>
    public async Task HoldAsync()
    {
        _held = await _holder.Client.SubmitAsync("/svc/hold/on/", new { n = 0 });
        await SwitchboardFactory.WaitFor(_holder.Client, _held, TimeSpan.FromSeconds(20), "running");
    }

    public async Task ReleaseAsync()
    {
        Assert.Equal(HttpStatusCode.OK, (await _holder.Client.DeleteAsync($"/svc/request/{_held}/")).StatusCode);
    }

    /// <summary>Submits one work item, with a <c>Priority</c> header when given; returns its id.</summary>
    public static async Task<string> SubmitAsync(TestUser user, int n, int? priority = null)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, "/svc/work/do/") { Content = JsonContent.Create(new { n }) };
        if (priority is not null)
        {
            message.Headers.Add("Priority", priority.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        var response = await user.Client.SendAsync(message);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await SwitchboardFactory.IdOf(response);
    }

    /// <summary>Waits until every work item has succeeded, then returns their ids in the order they started.</summary>
    public async Task<List<string>> StartOrderAsync(int count)
    {
        await Wait.ForValue(
            () => App.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests WHERE service = 'work' AND status = 'succeeded'")),
            (long)count, TimeSpan.FromSeconds(60), $"{count} work items to succeed");
        return App.Query(c =>
        {
            using var command = c.Sql("SELECT id FROM requests WHERE service = 'work' ORDER BY started_at, seq");
            using var reader = command.ExecuteReader();
            var ids = new List<string>();
            while (reader.Read())
            {
                ids.Add(reader.GetString(0));
            }
            return ids;
        });
    }

    /// <summary>Id, user, priority, created and started of each request, for a failure's message.</summary>
    public string Describe(IEnumerable<string> ids) => string.Join("; ", ids.Select(id => App.Query(c =>
    {
        using var command = c.Sql("SELECT user_id, priority, created_at, started_at FROM requests WHERE id = @id", ("@id", id));
        using var reader = command.ExecuteReader();
        return reader.Read() ? $"{id} user {reader.GetString(0)} priority {reader.GetInt32(1)} created {reader.GetInt64(2)} started {reader.GetValue(3)}" : id;
    })));

    public ValueTask DisposeAsync() => App.DisposeAsync();
}
