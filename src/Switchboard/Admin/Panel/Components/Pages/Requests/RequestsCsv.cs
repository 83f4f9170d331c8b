using System.Globalization;
using System.Text;
using Switchboard.Requests;
using Switchboard.Storage;

namespace Switchboard.Admin.Panel.Components.Pages.Requests;

/// <summary>
/// <c>GET /admin/requests.csv?&lt;the Requests page's filters&gt;</c>: every match, newest first, at most <see cref="MaxRows"/>
/// (older ones: the same search with <c>to</c> set to the last row's time). Read a page of <see cref="RequestAdmin.MaxLimit"/>
/// at a time (<see cref="RequestAdmin.Search"/>'s tested plans), written as it goes: no connection is held while a slow client reads.
/// </summary>
public static class RequestsCsv
{
    public const int MaxRows = 100_000;

    private static readonly string[] Header =
        ["id", "kind", "offer_or_deal", "user", "status", "price", "attempts", "run", "created_utc", "started_utc", "finished_utc", "error_code"];

    public static WebApplication MapRequestsCsv(this WebApplication app)
    {
        app.MapGet("/admin/requests.csv", Export);
        return app;
    }

    private static async Task<IResult> Export(HttpContext http, Store store)
    {
        var search = RequestSearch.Of(http.Request.Query);
        if (search.Filter is not { } filter)
        {
            return TypedResults.Text($"Invalid filter: {string.Join("; ", search.Errors)}. Nothing was exported.\n", "text/plain; charset=utf-8", statusCode: 400);
        }
        var page = Page(store, filter with { Limit = RequestAdmin.MaxLimit });
        var response = http.Response;
        PanelCsv.Start(response, $"requests-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.csv");
        await response.WriteAsync(PanelCsv.Line(Header), Encoding.UTF8, http.RequestAborted);
        var written = 0;
        while (true)
        {
            var lines = new StringBuilder();
            foreach (var r in page.Rows.Take(MaxRows - written))
            {
                lines.Append(PanelCsv.Line(r.Id, r.Kind, r.Target, r.User, r.Status, N(r.Price), N(r.Attempts), N(r.Run),
                    Iso(r.CreatedAt), Iso(r.StartedAt), Iso(r.FinishedAt), r.ErrorCode));
                written++;
            }
            await response.WriteAsync(lines.ToString(), Encoding.UTF8, http.RequestAborted);
            if (page.Older is not { } older || written >= MaxRows)
            {
                break;
            }
            page = Page(store, filter with { Limit = RequestAdmin.MaxLimit, Before = older });
        }
        return TypedResults.Empty;
    }

    private static RequestPage Page(Store store, RequestFilter filter)
    {
        using var connection = store.Open();
        return RequestAdmin.Search(connection, filter);
    }

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Iso(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) : "";
}
