using System.Globalization;
using Switchboard.Users;

namespace Switchboard.Admin.Panel.Components.Pages.Users;

/// <summary>
/// <c>GET /admin/users/{name}/ledger.csv</c>: a user's ledger, newest first, as RFC 4180 CSV,
/// bounded (<see cref="MaxRows"/>; a last line says when it stopped there). Read
/// <see cref="PageRows"/> rows at a time on a connection of their own, written as it goes, as
/// <c>RequestsCsv</c> does: no pooled connection (nor, on SQLite, a read
/// transaction) is held while a slow client reads. Text cells that a spreadsheet would take for
/// a formula (= + - @ TAB CR first) get a leading ' (<see cref="PanelCsv"/>); numbers are ours and
/// written as numbers. Behind the panel's gate (admins).
/// </summary>
public static class LedgerCsv
{
    public const int MaxRows = 100_000;

    public const int PageRows = 500;

    public const string Header = "time_utc,kind,amount,balance_after,request_id,run,note,actor";

    public static WebApplication MapUserLedgerCsv(this WebApplication app)
    {
        app.MapGet("/admin/users/{name}/ledger.csv", Write);
        return app;
    }

    private static async Task Write(string name, HttpContext http, Store store)
    {
        UserInfo? user;
        using (var connection = store.Open())
        {
            user = UserStore.Find(connection, name);
        }
        if (user is null)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            await http.Response.WriteAsync($"No user is named '{name}'.", http.RequestAborted);
            return;
        }
        // A valid name is of A-Z a-z 0-9 . _ @ + - only: safe in the quoted file name; else the id.
        PanelCsv.Start(http.Response, $"ledger-{(UserNames.IsValid(user.Name) ? user.Name : user.Id)}.csv");
        await http.Response.WriteAsync(Header + "\r\n", http.RequestAborted);
        await PanelCsv.WriteRowsAsync(http.Response, Pages(store, user.Id, PageRows), line => Row(line) + "\r\n", MaxRows,
            $"# stopped after {MaxRows} rows: the user page's Older links reach the rest", http.RequestAborted);
    }

    /// <summary>
    /// The ledger of <paramref name="userId"/> in pages of <paramref name="size"/>, newest first,
    /// each read on a connection opened for it. Keyset on the row id (the ledger's order, unique,
    /// and a newer row always has a larger one), so a boundary neither skips nor repeats a row and
    /// a row written meanwhile is newer than the export's first row, never in it. The first page's
    /// balances come from its statement; each later row's is the one before it less that row's
    /// amount, which holds because a ledger row is never changed.
    /// </summary>
    public static IEnumerable<IReadOnlyList<LedgerLine>> Pages(Store store, string userId, int size)
    {
        List<LedgerLine> page;
        using (var connection = store.Open())
        {
            page = UserLedger.Page(connection, userId, null, size);
        }
        while (page.Count > 0)
        {
            yield return page;
            if (page.Count < size)
            {
                yield break;
            }
            var last = page[^1];
            List<LedgerEntry> older;
            using (var connection = store.Open())
            {
                older = UserLedger.Older(connection, userId, last.Entry.Id, size);
            }
            var balance = last.BalanceAfter - last.Entry.Amount;
            page = new List<LedgerLine>(older.Count);
            foreach (var entry in older)
            {
                page.Add(new LedgerLine(entry, balance));
                balance -= entry.Amount;
            }
        }
    }

    public static string Row(LedgerLine line)
    {
        var e = line.Entry;
        return string.Join(',',
            PanelCsv.Time(e.CreatedAt),
            PanelCsv.Cell(e.Kind),
            e.Amount.ToString(CultureInfo.InvariantCulture),
            line.BalanceAfter.ToString(CultureInfo.InvariantCulture),
            PanelCsv.Cell(e.RequestId),
            e.Run?.ToString(CultureInfo.InvariantCulture) ?? "",
            PanelCsv.Cell(e.Note),
            PanelCsv.Cell(e.Actor));
    }
}
