using Switchboard.Execution;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Persistence;

/// <summary>
/// The executor's claim finds its row through the unique id index, also when its plan was made
/// on an empty table (a new deployment) and the table filled up afterwards.
/// </summary>
public sealed class PostgresPlanTests : IAsyncLifetime
{
    private readonly TestStore _store = TestStore.Create(StoreKind.Postgres);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _store.DisposeAsync();

    private static string Positional(string sql) => sql
        .Replace("@owner", "$1").Replace("@lease", "$2").Replace("@now", "$3").Replace("@id", "$4").Replace("@run", "$5").Replace("@queued", "$6");

    /// <summary>
    /// Plans the claim once, generically (as PostgreSQL does for a prepared statement after a
    /// few runs), on the empty table of a new deployment; fills the table; and explains the next
    /// claim, which still runs that cached plan.
    /// </summary>
    private string PlanAfterTheTableFilled()
    {
        using var connection = _store.Store.Open();
        SqlExtensions.Exec(connection, "SET plan_cache_mode = force_generic_plan");
        SqlExtensions.Exec(connection, $"PREPARE probe (text, bigint, bigint, text, integer, text) AS {Positional(JobStore.ClaimSql)}");
        SqlExtensions.Exec(connection, "EXECUTE probe ('o', 1, 1, 'none', 1, 'queued')");
        SqlExtensions.Exec(connection, """
            INSERT INTO users (id, name, credits, created_at) VALUES ('u', 'u', 0, 0);
            INSERT INTO requests (id, user_id, kind, service, action, handler, status, inputs, prompt, params, create_qty, price, run, max_attempts, created_at, updated_at)
            SELECT 'r' || g, 'u', 'offer', 's', 'a', 'echo.render', 'queued', '{}', 'p', '{}', 1, 1, 1, 3, g, g FROM generate_series(1, 5000) g;
            """);
        using var explain = connection.Sql("EXPLAIN EXECUTE probe ('o', 1, 1, 'r42', 1, 'queued')");
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
        var plan = PlanAfterTheTableFilled();

        Assert.Contains("requests_id_key", plan);
    }
}
