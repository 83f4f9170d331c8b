using Switchboard.Admin.Panel.Components.Pages.Users;
using Switchboard.Users;

namespace Switchboard.Tests.Panel;

/// <summary>
/// The user page's ledger query (<see cref="UserLedger"/>) on both stores: pages newest first,
/// each row's balance after it from the same statement (PostgreSQL's window SUM is a numeric);
/// and the ledger CSV's pages (<see cref="LedgerCsv.Pages"/>), each read on a connection of its
/// own: no row skipped or repeated at a boundary, even between rows of the same millisecond or
/// when a row is written between two pages, and the balance right across the boundaries.
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

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task TheCsvsPagesNeitherSkipNorRepeatARowAndKeepTheBalanceAcrossThem(StoreKind kind)
    {
        const int Grants = 10, PageRows = 3;
        await using var store = TestStore.Create(kind);
        var (id, _) = await Infrastructure.Cli.CreateUser(store, "kit", 0);
        await store.Store.WriteAsync(c =>
        {
            for (var i = 1; i <= Grants; i++)
            {
                CreditMoves.Apply(c, "kit", CreditMoves.Grant, i, $"g{i}", "root");
            }
            // Every row at one millisecond: a boundary placed by time would skip or repeat rows.
            return c.Execute("UPDATE ledger SET created_at = 1700000000000 WHERE user_id = @u", ("@u", id));
        });
        var expected = store.Query(c => UserLedger.Page(c, id, null, 1000));

        var read = new List<LedgerLine>();
        var pages = 0;
        foreach (var page in LedgerCsv.Pages(store.Store, id, PageRows))
        {
            Assert.InRange(page.Count, 1, PageRows);
            read.AddRange(page);
            if (++pages == 1)
            {
                // Written while the file downloads: newer than the export's first row, so not in
                // it, and the balances of the rows still to come are those before it.
                await store.Store.WriteAsync(c => CreditMoves.Apply(c, "kit", CreditMoves.Grant, 1000, "during", "root"));
            }
        }

        Assert.Equal((expected.Count + PageRows - 1) / PageRows, pages);
        Assert.Equal(expected, read);
        Assert.Equal(Enumerable.Range(1, Grants).Reverse().Select(i => $"g{i}"), read.Select(l => l.Entry.Note).Where(n => n is not null));
        Assert.Equal(Grants * (Grants + 1) / 2, read[0].BalanceAfter);
        for (var i = 1; i < read.Count; i++)
        {
            Assert.Equal(read[i - 1].BalanceAfter - read[i - 1].Entry.Amount, read[i].BalanceAfter);
        }
        Assert.Equal(0, read[^1].BalanceAfter - read[^1].Entry.Amount); // kit started from nothing.
        Assert.Empty(LedgerCsv.Pages(store.Store, "no-such-user", PageRows));
    }
}
