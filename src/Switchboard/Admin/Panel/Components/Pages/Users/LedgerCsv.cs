using System.Globalization;
using System.Text;
using Switchboard.Users;

namespace Switchboard.Admin.Panel.Components.Pages.Users;

/// <summary>
/// <c>GET /admin/users/{name}/ledger.csv</c>: a user's ledger, newest first, as RFC 4180 CSV,
/// streamed as the rows are read and bounded (<see cref="MaxRows"/>; a last line says when it
/// stopped there). Text cells that a spreadsheet would take for a formula (= + - @ TAB CR first)
/// get a leading ' (<see cref="PanelCsv"/>); numbers are ours and written as numbers. Behind the panel's gate (admins).
/// </summary>
public static class LedgerCsv
{
    public const int MaxRows = 100_000;

    public const string Header = "time_utc,kind,amount,balance_after,request_id,run,note,actor";

    public static WebApplication MapUserLedgerCsv(this WebApplication app)
    {
        app.MapGet("/admin/users/{name}/ledger.csv", Write);
        return app;
    }

    private static async Task Write(string name, HttpContext http, Store store)
    {
        using var connection = store.Open();
        if (UserStore.Find(connection, name) is not { } user)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            await http.Response.WriteAsync($"No user is named '{name}'.", http.RequestAborted);
            return;
        }
        // A valid name is of A-Z a-z 0-9 . _ @ + - only: safe in the quoted file name; else the id.
        PanelCsv.Start(http.Response, $"ledger-{(UserNames.IsValid(user.Name) ? user.Name : user.Id)}.csv");
        await using var writer = new StreamWriter(http.Response.Body, new UTF8Encoding(false), 16 * 1024);
        await writer.WriteAsync(Header + "\r\n");
        var rows = 0;
        foreach (var line in UserLedger.Read(connection, user.Id, null, MaxRows + 1))
        {
            if (++rows > MaxRows)
            {
                await writer.WriteAsync(PanelCsv.Cell($"# stopped after {MaxRows} rows: the user page's Older links reach the rest") + "\r\n");
                break;
            }
            await writer.WriteAsync(Row(line) + "\r\n");
            if (rows % 1000 == 0)
            {
                await writer.FlushAsync(http.RequestAborted);
            }
        }
    }

    public static string Row(LedgerLine line)
    {
        var e = line.Entry;
        return string.Join(',',
            DateTimeOffset.FromUnixTimeMilliseconds(e.CreatedAt).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            PanelCsv.Cell(e.Kind),
            e.Amount.ToString(CultureInfo.InvariantCulture),
            line.BalanceAfter.ToString(CultureInfo.InvariantCulture),
            PanelCsv.Cell(e.RequestId),
            e.Run?.ToString(CultureInfo.InvariantCulture) ?? "",
            PanelCsv.Cell(e.Note),
            PanelCsv.Cell(e.Actor));
    }
}
