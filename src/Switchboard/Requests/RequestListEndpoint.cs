using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Switchboard.Errors;
using Switchboard.Lifecycle;
using Switchboard.Storage;
using Switchboard.Users;

namespace Switchboard.Requests;

/// <summary>
/// One request in the caller's list: what it is and how it stands, not its results or inputs
/// (<see cref="Url"/> reads the whole request object). <see cref="Offer"/> (<c>service/action</c>)
/// for an offer's request, <see cref="Deal"/> (its name) for a deal's.
/// </summary>
public sealed record RequestSummary(
    string Id, string Kind, string Status, string? Offer, string? Deal, long Price, int Run, int Attempts, RequestError? Error,
    string CreatedAt, string UpdatedAt, string? FinishedAt, string Url, RequestProgress? Progress);

/// <summary>A page of the caller's requests, newest first; <see cref="NextCursor"/> reads the next (older) page, null on the last.</summary>
public sealed record RequestList(IReadOnlyList<RequestSummary> Items, string? NextCursor);

/// <summary><c>GET /svc/requests/</c>: the caller's requests (offers' and deals', never a deal's steps on their own), newest first, cursor-paged.</summary>
public static class RequestListEndpoint
{
    public static RouteGroupBuilder MapRequestList(this RouteGroupBuilder svc)
    {
        svc.MapGet("/requests/", List)
            .Describe("requests", "list_requests", "Your requests, newest first")
            .WithDescription("Filters: status (one status or a comma list), offer (service/action), deal (a name), since "
                + "(ISO 8601 or Unix ms, or a period such as 24h), limit (1-100, default 20), cursor (the next_cursor of the "
                + "page before, with the same filters). Items summarize a request; its url gives the results.")
            .Produces<RequestList>()
            .AnswersProblems(400);
        return svc;
    }

    private static Results<Ok<RequestList>, ProblemHttpResult> List(HttpContext http, Store store)
    {
        var userId = http.User().Id;
        var (query, problem) = RequestListQuery.Parse(http.Request.Query, userId);
        if (problem is not null)
        {
            return problem;
        }
        var (sql, args) = query!.Sql(userId);
        var items = new List<RequestSummary>();
        long lastSeq = 0;
        var more = false;
        using (var connection = store.Open())
        using (var command = connection.Sql(sql, args))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                if (items.Count == query.Limit)
                {
                    more = true;
                    break;
                }
                lastSeq = reader.GetInt64(0);
                var kind = reader.GetString(2);
                var (service, action) = (reader.GetString(3), reader.GetString(4));
                items.Add(new RequestSummary(
                    reader.GetString(1), kind, reader.GetString(5),
                    kind == "deal" ? null : $"{service}/{action}", kind == "deal" ? action : null,
                    reader.GetInt64(6), reader.GetInt32(7), reader.GetInt32(8),
                    reader.StringOrNull(9) is { } code ? new RequestError(code, reader.StringOrNull(10)) : null,
                    Clock.Iso(reader.GetInt64(11))!, Clock.Iso(reader.GetInt64(12))!, Clock.Iso(reader.LongOrNull(13)),
                    RequestRecord.UrlOf(reader.GetString(1)),
                    reader.StringOrNull(14) is { } progress ? JsonSerializer.Deserialize<RequestProgress>(progress, JsonSerializerOptions.Web) : null));
            }
        }
        return TypedResults.Ok(new RequestList(items, more ? ListCursor.Write(lastSeq, userId, query.FilterKey) : null));
    }
}
