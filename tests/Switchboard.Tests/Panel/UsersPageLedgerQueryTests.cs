using Switchboard.Users;

namespace Switchboard.Tests.Panel;

/// <summary>
/// The user page's ledger query (<see cref="UserLedger"/>) on both stores: pages newest first,
/// each row's balance after it from the same statement (PostgreSQL's window SUM is a numeric).
/// </summary>
public sealed class UsersPageLedgerQueryTests
{
    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task PagesHoldEachRowsBalanceAfterIt(StoreKind kind)
    {
        await using var store = TestStore.Create(kind);
        var (id, _) = await Infrastructure.Cli.CreateUser(store, "kim", 7);
        foreach (var (moveKind, amount, note) in new[] { (CreditMoves.Grant, 10L, (string?)"ten"), (CreditMoves.Adjust, -3L, "typo"), (CreditMoves.Grant, 1L, null) })
        {
            await store.Store.WriteAsync(c => CreditMoves.Apply(c, "kim", moveKind, amount, note, "root"));
        }

        var all = store.Query(c => UserLedger.Page(c, id, null, 10));
        Assert.Equal([1L, -3, 10, 7], all.Select(l => l.Entry.Amount));
        Assert.Equal([15L, 14, 17, 7], all.Select(l => l.BalanceAfter));
        var older = store.Query(c => UserLedger.Page(c, id, all[1].Entry.Id, 1));
        Assert.Equal(all[2], Assert.Single(older));
        var spent = store.Query(c => UserLedger.SpentPerDay(c, id, Clock.NowMs(), 30));
        Assert.Equal(30, spent.Count);
        Assert.All(spent, d => Assert.Equal(0, d.Credits)); // Grants and adjustments are not spending.
        Assert.Equal(DateOnly.FromDateTime(DateTime.UtcNow), spent[^1].Day);
    }
}
