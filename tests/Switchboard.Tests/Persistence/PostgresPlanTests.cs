using Switchboard.Lifecycle;

namespace Switchboard.Tests.Persistence;

/// <summary>
/// The executor's claim finds its row through the unique id index, also when its plan was made
/// on an empty table (a new deployment) and the table filled up afterwards.
/// </summary>
public sealed class PostgresPlanTests : AppTests
{
    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(StoreKind.Postgres);

    /// <summary>The statement with its @names turned into $1, $2… in the given order.</summary>
    private static string Positional(string sql, params string[] names)
    {
        for (var i = 0; i < names.Length; i++)
        {
            sql = sql.Replace("@" + names[i], "$" + (i + 1));
        }
        return sql;
    }

    /// <summary>
    /// Prepares a statement on a connection of the store's writer and runs it on the empty
    /// table of a new deployment; fills the table; and explains the next execution. With
    /// <paramref name="generic"/>, the plan is the generic one PostgreSQL caches for a prepared
    /// statement after a few runs, made on the empty table and kept.
    /// </summary>
    private string PlanAfterTheTableFilled(string sql, string[] names, string types, string arguments, bool generic = false)
    {
        using var connection = ((PostgresStore)App.Store.Store).OpenWriter();
        if (generic)
        {
            SqlExtensions.Exec(connection, "SET plan_cache_mode = force_generic_plan");
        }
        SqlExtensions.Exec(connection, $"PREPARE probe ({types}) AS {Positional(sql, names)}");
        // Six runs: after five, PostgreSQL may keep a prepared statement's generic plan.
        for (var i = 0; i < 6; i++)
        {
            SqlExtensions.Exec(connection, $"EXECUTE probe ({arguments})");
        }
        // Free requests (price 0): rows the store could really hold, so the credits audit after
        // the test has nothing to say about charges that were never made.
        SqlExtensions.Exec(connection, """
            INSERT INTO users (id, name, credits, created_at) VALUES ('u', 'u', 0, 0);
            INSERT INTO requests (id, user_id, kind, service, action, handler, status, inputs, prompt, params, create_qty, price, run, max_attempts, created_at, updated_at)
            SELECT 'r' || g, 'u', 'offer', 's', 'a', 'echo.render', CASE WHEN g % 2 = 0 THEN 'queued' ELSE 'running' END,
                '{}', 'p', '{}', 1, 0, 1, 3, g, g FROM generate_series(1, 5000) g;
            """);
        using var explain = connection.Sql($"EXPLAIN EXECUTE probe ({arguments})");
        using var reader = explain.ExecuteReader();
        var plan = new List<string>();
        while (reader.Read())
        {
            plan.Add(reader.GetString(0));
        }
        return string.Join('\n', plan);
    }

    [Fact]
    public void TheClaimUsesTheIdIndexWhateverTheTableWasWhenItWasFirstPlanned()
    {
        var plan = PlanAfterTheTableFilled(
            RequestLifecycle.ClaimSql, ["owner", "lease", "now", "id", "run", "queued", "format"],
            "text, bigint, bigint, text, integer, text, integer", "'o', 1, 1, 'r42', 1, 'queued', 1", generic: true);

        Assert.Contains("requests_id_key", plan);
    }

    [Fact]
    public void TheBatchedClaimUsesTheIdIndexWhateverTheTableWasWhenItWasFirstPlanned()
    {
        var plan = PlanAfterTheTableFilled(
            RequestLifecycle.ClaimManySql, ["ids", "runs", "owners", "leases", "nows", "queued", "format"],
            "text[], integer[], text[], bigint[], bigint[], text, integer", "'{r42,r44}', '{1,1}', '{o,o}', '{1,1}', '{1,1}', 'queued', 1");

        Assert.Contains("requests_id_key", plan);
        Assert.DoesNotContain("Seq Scan on requests", plan);
    }

    [Fact]
    public void TheBatchedSuccessUsesTheIdIndexWhateverTheTableWasWhenItWasFirstPlanned()
    {
        var plan = PlanAfterTheTableFilled(
            RequestLifecycle.SucceedManySql, ["ids", "runs", "attempts", "owners", "results", "usages", "nows", "endpoints", "running"],
            "text[], integer[], integer[], text[], text[], text[], bigint[], text[], text", "'{r41}', '{1}', '{1}', '{o}', '{\"[]\"}', '{NULL}', '{1}', '{NULL}', 'running'");

        Assert.Contains("requests_id_key", plan);
        Assert.DoesNotContain("Seq Scan on requests", plan);
    }
}

/// <summary>Processes that start at once apply each migration once (they queue on an advisory lock).</summary>
public sealed class PostgresMigrationTests
{
    [Fact]
    public async Task ProcessesStartingTogetherApplyEachMigrationOnce()
    {
        await using var empty = TestStore.Create(StoreKind.Postgres, empty: true);
        var uri = Config.BootstrapConfig.Load(empty.ConfigPath!).PostgresUri!;
        var stores = Enumerable.Range(0, 6).Select(_ => new PostgresStore(uri)).ToList();

        var found = await Task.WhenAll(stores.Select(s => Task.Run(s.Migrate)));

        // Each found the schema it had when its turn came: one the empty store, the others the migrated one.
        Assert.Equal([0L, Migrations.Latest, Migrations.Latest, Migrations.Latest, Migrations.Latest, Migrations.Latest], found.Order());
        Assert.Equal(Migrations.Latest, empty.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM schema_migrations")));
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }
    }
}
