using StackExchange.Redis;
using Switchboard.Deals;
using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Tests.QueueContract;

namespace Switchboard.Tests.Deals;

/// <summary>
/// The job data store of deals with a real Redis: a step's results are copied to
/// <c>{prefix}:out:&lt;step id&gt;:&lt;run&gt;</c> with a TTL, and a pipeline step's input is
/// found from either copy alone, or from the database while Redis cannot be reached.
/// </summary>
public abstract class StepOutputsTests(StoreKind kind) : AppTests
{
    // Step 2 takes the own results of steps 0 and 1 (step 1 extends what it received): two
    // sources, read in one go.
    private static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: t, action: a, handler: echo.render, price: 1, prompt_template: "A({topic})"}
          - {service: t, action: b, handler: echo.render, price: 2, prompt_template: "B[{input}]"}
          - {service: t, action: c, handler: echo.render, price: 3, prompt_template: "C[{input}]"}
        deals:
          - name: chain
            offers:
              - {offer: t/a, pipeline: none}
              - {offer: t/b, pipeline: extend}
              - {offer: t/c, pipeline: overwrite}
        """);

    private const string A = "A(owls) #1";
    private const string B = $"B[{A}] #1";
    private const string C = $"C[{A}\n\n{B}] #1";

    private HttpClient _client = null!;
    private RedisSettings _settings = null!;
    private IConnectionMultiplexer _redis = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, catalog: Catalog, redis: true);
        _client = (await app.AddUserAsync("alice", 100)).Client;
        _settings = RedisTestServer.Settings(app.Store.RedisPrefix);
        _redis = app.Own(await RedisTestServer.Connect(_settings));
        return app;
    }

    /// <summary>Buys the chain deal and waits until it succeeded; returns its steps.</summary>
    private async Task<List<DealRow>> BuyChain()
    {
        var id = await _client.SubmitAsync("/svc/deal/chain/", new { inputs = new { topic = "owls" } });
        var deal = await SwitchboardFactory.WaitForEnd(_client, id);
        Assert.Equal("succeeded", deal["status"]!.GetValue<string>());
        var steps = DealRows.StepsOf(DealRows.Read(App.Store), id);
        Assert.Equal([[A], [B], [C]], steps.Select(s => s.ResultList));
        return steps;
    }

    /// <summary>The Redis key of a step's results, spelled out as the deployment documents it.</summary>
    private RedisKey OutKey(DealRow step) => $"{{{App.Store.RedisPrefix}}}:out:{step.Id}:1";

    /// <summary>The copy is written after the step's success is committed, so the last one may land just after the deal ends.</summary>
    private async Task WaitForCopies(IEnumerable<DealRow> steps)
    {
        foreach (var step in steps)
        {
            await Wait.Until(() => _redis.GetDatabase().KeyExistsAsync(OutKey(step)), TimeSpan.FromSeconds(5), $"the Redis copy of step {step.Step}");
        }
    }

    /// <summary>The step as a worker holds it once claimed (its stored prompt is still the template).</summary>
    private ClaimedJob Claimed(DealRow step) => App.Store.Query(c =>
    {
        using var command = c.Sql(
            "SELECT run, attempts, max_attempts, user_id, handler, prompt, params, create_qty, price, parent, step, pipeline FROM requests WHERE id = @id",
            ("@id", step.Id));
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        return new ClaimedJob(step.Id, reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetString(3), reader.GetString(4),
            reader.GetString(5), reader.GetString(6), reader.GetInt32(7), reader.GetInt64(8), reader.GetString(9), reader.GetInt32(10), reader.GetString(11));
    });

    private static void AssertInput(StepInput? input, string prompt, params string[] data)
    {
        Assert.NotNull(input);
        Assert.Equal(prompt, input.Prompt);
        Assert.Equal(data, input.Input.Select(n => n.GetValue<string>()));
    }

    private void ForgetInDatabase(IEnumerable<DealRow> steps)
    {
        foreach (var step in steps)
        {
            App.Store.Query(c => c.Execute("UPDATE requests SET results = NULL WHERE id = @id", ("@id", step.Id)));
        }
    }

    [Fact]
    public async Task EachSucceededStepsResultsAreCopiedToRedisWithATtl()
    {
        var steps = await BuyChain();
        await WaitForCopies(steps);

        var db = _redis.GetDatabase();
        foreach (var step in steps)
        {
            var ttl = await db.KeyTimeToLiveAsync(OutKey(step));
            Assert.NotNull(ttl);
            Assert.InRange(ttl.Value, TimeSpan.FromSeconds(1), StepOutputs.Ttl);
            var copy = (string?)await db.StringGetAsync(OutKey(step));
            // Exactly the JSON array the step's success wrote to its row.
            Assert.Equal(new JsonArray([.. step.ResultList.Select(r => JsonValue.Create(r))]).ToJsonString(), copy);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(step.Results!), JsonNode.Parse(copy!)));
        }
    }

    [Fact]
    public async Task APipelineStepsInputIsReadFromRedisWhenTheDatabaseCopyIsGone()
    {
        var steps = await BuyChain();
        await WaitForCopies(steps);
        ForgetInDatabase(steps);
        var inputs = new StepInputs(App.Store.Store, new StepOutputs(App.Store.Store, _redis, _settings));

        AssertInput(await inputs.ResolveAsync(Claimed(steps[2])), $"C[{A}\n\n{B}]", A, B);
        AssertInput(await inputs.ResolveAsync(Claimed(steps[1])), $"B[{A}]", A);

        // With neither copy the input is missing (the step would fail with step_input_missing).
        await _redis.GetDatabase().KeyDeleteAsync(OutKey(steps[1]));
        Assert.Null(await inputs.ResolveAsync(Claimed(steps[2])));
    }

    [Fact]
    public async Task APipelineStepsInputIsReadFromTheDatabaseWhenTheRedisCopyIsGone()
    {
        var steps = await BuyChain();
        await WaitForCopies(steps);
        await _redis.GetDatabase().KeyDeleteAsync([.. steps.Select(OutKey)]);
        var inputs = new StepInputs(App.Store.Store, new StepOutputs(App.Store.Store, _redis, _settings));

        AssertInput(await inputs.ResolveAsync(Claimed(steps[2])), $"C[{A}\n\n{B}]", A, B);

        // One source in Redis, the other only in the database: both are found.
        await new StepOutputs(App.Store.Store, _redis, _settings).SaveAsync(steps[0].Id, 1, steps[0].Results!);
        ForgetInDatabase([steps[0]]);
        AssertInput(await inputs.ResolveAsync(Claimed(steps[2])), $"C[{A}\n\n{B}]", A, B);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WhileRedisCannotBeReachedStepOutputsAreReadFromTheDatabase(bool failFast)
    {
        var steps = await BuyChain();
        // Nothing listens on this port. Fail-fast is how the deployment connects (RedisSettings);
        // without it commands wait in the backlog until their timeout.
        var options = ConfigurationOptions.Parse($"127.0.0.1:{SwitchboardProcess.FreePort()}");
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 200;
        options.SyncTimeout = 200;
        options.AsyncTimeout = 200;
        options.BacklogPolicy = failFast ? BacklogPolicy.FailFast : BacklogPolicy.Default;
        await using var unreachable = await ConnectionMultiplexer.ConnectAsync(options);
        Assert.False(unreachable.IsConnected);
        var outputs = new StepOutputs(App.Store.Store, unreachable, _settings);
        var inputs = new StepInputs(App.Store.Store, outputs);

        // Saving is best effort (the row is the store of record): it neither throws nor hangs.
        await outputs.SaveAsync(steps[0].Id, 1, steps[0].Results!).WaitAsync(TimeSpan.FromSeconds(10));
        var input = await inputs.ResolveAsync(Claimed(steps[2])).WaitAsync(TimeSpan.FromSeconds(10));

        AssertInput(input, $"C[{A}\n\n{B}]", A, B);
    }
}

public sealed class StepOutputsOnSqlite() : StepOutputsTests(StoreKind.Sqlite);

public sealed class StepOutputsOnPostgres() : StepOutputsTests(StoreKind.Postgres);
