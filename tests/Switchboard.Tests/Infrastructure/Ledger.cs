using Switchboard.Storage;

namespace Switchboard.Tests.Infrastructure;

/// <summary>Reads the store directly, to assert the money invariants behind the API.</summary>
public static class Ledger
{
    public static long Balance(TestStore store, string userId) =>
        store.Query(c => c.Scalar<long>("SELECT credits FROM users WHERE id = @u", ("@u", userId)));

    public static long Count(TestStore store, string kind, string requestId) =>
        store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM ledger WHERE kind = @k AND request_id = @r", ("@k", kind), ("@r", requestId)));

    public static long RequestCount(TestStore store) => store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM requests"));

    /// <summary>Every user's balance equals the sum of their ledger: no credit appears or vanishes.</summary>
    public static void AssertBalanced(TestStore store) => store.Query(c =>
    {
        using var command = c.Sql("SELECT u.id, u.credits, COALESCE((SELECT SUM(amount) FROM ledger l WHERE l.user_id = u.id), 0) FROM users u");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            Assert.True(reader.GetInt64(1) == reader.GetInt64(2), $"user {reader.GetString(0)}: balance {reader.GetInt64(1)} but ledger sums to {reader.GetInt64(2)}");
        }
        return 0;
    });

    /// <summary>The credits audit finds no problem (it also runs when every <see cref="TestStore"/> is disposed).</summary>
    public static void AssertAudited(TestStore store)
    {
        var report = store.Audit();
        Assert.True(report.Ok, "credits audit: " + report.ToJson().ToJsonString());
    }

    public static T Query<T>(TestStore store, Func<System.Data.Common.DbConnection, T> read) => store.Query(read);
}
