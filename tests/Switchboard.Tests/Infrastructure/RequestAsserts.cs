namespace Switchboard.Tests.Infrastructure;

/// <summary>How a request that should have failed ended, as the handler tests check it.</summary>
public static class RequestAsserts
{
    /// <summary>The request failed with <paramref name="code"/> after <paramref name="attempts"/> attempts.</summary>
    public static void AssertFailed(JsonObject done, string code, int attempts)
    {
        Assert.Equal("failed", done["status"]!.GetValue<string>());
        Assert.Equal(code, done["error"]?["code"]?.GetValue<string>());
        Assert.Equal(attempts, done["attempts"]!.GetValue<int>());
    }

    /// <summary>Request <paramref name="id"/> was refunded once: <paramref name="user"/> has its <paramref name="credits"/> back and the ledger balances.</summary>
    public static void AssertRefunded(TestApp app, TestUser user, long credits, string id)
    {
        Assert.Equal(credits, user.Balance);
        Assert.Equal(1, Ledger.Count(app.Store, "refund", id));
        Ledger.AssertBalanced(app.Store);
    }
}
