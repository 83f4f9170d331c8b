using Switchboard.Users;

namespace Switchboard.Usage;

/// <summary><c>GET /admin/api/usage</c>: the totals of the <c>usage</c> command, as JSON.</summary>
public static class UsageAdminEndpoint
{
    public static void MapUsageAdmin(this RouteGroupBuilder admin) =>
        admin.MapGet("/usage", Handle).Describe("usage", "get_usage", "Upstream usage (tokens, calls) per period and offer").AnswersJson(200, 400);

    /// <summary>
    /// Query: <c>since</c> (a duration, default 24h), <c>resource</c>, <c>handler</c>, <c>user</c>
    /// (name or id), <c>per_minute</c> (true or 1). Answers <c>{"since": iso, "granularity":
    /// "minute" | "day", "minutes_from": iso, "rows": [...]}</c>: <c>since</c> the start of what
    /// is counted (earlier than asked when it falls in a rolled-up day, counted whole);
    /// <c>granularity</c> "day" when rolled-up days are part of the range, which then are per day
    /// up to <c>minutes_from</c> and per minute after.
    /// </summary>
    private static IResult Handle(Store store, string? since, string? resource, string? handler, string? user, string? per_minute)
    {
        if (UsageQuery.SinceMs(string.IsNullOrEmpty(since) ? UsageQuery.DefaultSince : since, Clock.NowMs()) is not { } sinceMs)
        {
            return Problems.Of(400, "invalid_since", "Invalid since", $"since must be {UsageQuery.SinceHelp}, not '{since}'.");
        }
        using var connection = store.Open();
        UserInfo? found = null;
        if (!string.IsNullOrEmpty(user) && (found = UserStore.Find(connection, user)) is null)
        {
            return Problems.Of(404, "user_not_found", "No such user", $"No user is named '{user}'.");
        }
        var perMinute = per_minute is "1" || string.Equals(per_minute, "true", StringComparison.OrdinalIgnoreCase);
        var rows = UsageQuery.Totals(connection, new UsageFilter(sinceMs, NullIfEmpty(resource), NullIfEmpty(handler), found?.Id, perMinute));
        var (from, minutesFrom) = UsageQuery.Span(connection, sinceMs);
        var answer = new JsonObject
        {
            ["since"] = Clock.Iso(from),
            ["granularity"] = minutesFrom is null ? "minute" : "day",
        };
        if (minutesFrom is not null)
        {
            answer["minutes_from"] = Clock.Iso(minutesFrom);
        }
        answer["rows"] = new JsonArray([.. rows.Select(r => (JsonNode)UsageQuery.ToJson(r, found?.Name))]);
        return TypedResults.Json(answer);
    }

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
}
