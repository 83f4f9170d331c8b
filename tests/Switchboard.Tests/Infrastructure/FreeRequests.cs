using System.Data.Common;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// Rows of <c>requests</c> written straight to the store for tests that need many of them or a
/// given shape (plans, paging): free (price 0, so the credits audit has nothing to say), of
/// <c>echo.render</c>, created and updated at <paramref name="at"/>.
/// </summary>
public static class FreeRequests
{
    public static void Insert(DbConnection connection, string id, string user, string kind, string service, string action, string status, long at) =>
        connection.Execute(
            """
            INSERT INTO requests (id, user_id, kind, service, action, handler, status, inputs, prompt, params, create_qty, price, run, max_attempts, created_at, updated_at)
            VALUES (@id, @user, @kind, @service, @action, 'echo.render', @status, @inputs, 'p', @params, 1, 0, 1, 3, @at, @at)
            """,
            ("@id", id), ("@user", user), ("@kind", kind), ("@service", service), ("@action", action), ("@status", status),
            ("@inputs", new Json("{}")), ("@params", new Json("{}")), ("@at", at));
}

/// <summary>The store's plan of a statement: <c>EXPLAIN</c> on PostgreSQL, <c>EXPLAIN QUERY PLAN</c> on SQLite, one line per row.</summary>
public static class QueryPlans
{
    public static string Of(TestApp app, string sql, (string, object?)[] args) => app.Store.Query(c =>
    {
        using var command = c.Sql((app.Store.Store.Kind == StoreKind.Postgres ? "EXPLAIN " : "EXPLAIN QUERY PLAN ") + sql, args);
        using var reader = command.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read())
        {
            lines.Add(Convert.ToString(reader.GetValue(reader.FieldCount - 1), System.Globalization.CultureInfo.InvariantCulture)!);
        }
        return string.Join("\n", lines);
    });
}
