using System.Globalization;
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
        PanelCsv.Start(http.Response, $"requests-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.csv");
        await http.Response.WriteAsync(PanelCsv.Line(Header), http.RequestAborted);
        await PanelCsv.WriteRowsAsync(http.Response, Pages(store, filter), r => PanelCsv.Line(r.Id, r.Kind, r.Target, r.User, r.Status,
            N(r.Price), N(r.Attempts), N(r.Run), PanelCsv.Time(r.CreatedAt), PanelCsv.Time(r.StartedAt), PanelCsv.Time(r.FinishedAt), r.ErrorCode),
            MaxRows, null, http.RequestAborted);
        return TypedResults.Empty;
    }

    /// <summary>The search's pages, newest first, each read on a connection opened for it.</summary>
    private static IEnumerable<IReadOnlyList<RequestRow>> Pages(Store store, RequestFilter filter)
    {
        var before = filter.Before;
        do
        {
            RequestPage page;
            using (var connection = store.Open())
            {
                page = RequestAdmin.Search(connection, filter with { Limit = RequestAdmin.MaxLimit, Before = before });
            }
            yield return page.Rows;
            before = page.Older;
        }
        while (before is not null);
    }

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);
}
