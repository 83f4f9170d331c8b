using System.Data.Common;
using Microsoft.AspNetCore.Http.HttpResults;
using Switchboard.Config;
using Switchboard.Users;

namespace Switchboard.Credits;

/// <summary>
/// <c>GET /svc/me/</c>: the caller, their balance, and what they bought over a period
/// (<c>?since=30d</c>): per offer, the requests created in it, how they ended, and the credits
/// they cost net of refunds.
/// </summary>
public static class AccountEndpoints
{
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromDays(30);

    /// <summary>
    /// The longest period <c>since</c> may name. Each call reads every request of the caller's in
    /// the period (through requests_user) and their ledger rows: the bound keeps one call's cost
    /// to a season's requests, not a decade's.
    /// </summary>
    public static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(90);

    /// <summary>Maps <c>/me/</c> on the <c>/svc</c> group (which checks the API key).</summary>
    public static RouteGroupBuilder MapAccountEndpoints(this RouteGroupBuilder svc)
    {
        svc.MapGet("/me/", Me)
            .WithName("get_me").WithTags("account").WithSummary("The caller, their balance and what they bought over a period")
            .ProducesProblem(400);
        svc.MapMyKeys();
        return svc;
    }

    /// <summary><c>&lt;n&gt;m</c>, <c>&lt;n&gt;h</c> or <c>&lt;n&gt;d</c> (n ≥ 1, at most <see cref="MaxPeriod"/>); null when malformed.</summary>
    public static TimeSpan? ParsePeriod(string text) =>
        text.Length > 1 && !char.IsWhiteSpace(text[0]) && text[^1] is 'm' or 'h' or 'd' && ConfigValues.ParseDuration(text) is { } period && period > TimeSpan.Zero && period <= MaxPeriod
            ? period
            : null;

    private static Results<Ok<AccountView>, ProblemHttpResult> Me(HttpContext http, Store store)
    {
        var since = http.Request.Query["since"];
        var period = DefaultPeriod;
        if (since.Count > 0)
        {
            if (since.Count > 1 || ParsePeriod(since[0] ?? "") is not { } parsed)
            {
                return Problems.Of(400, "invalid_since", "Malformed period",
                    $"since is a number of minutes, hours or days: 90m, 1h, 24h, 7d, 30d (at most {MaxPeriod.TotalDays:0}d).");
            }
            period = parsed;
        }
        var from = Clock.NowMs() - (long)period.TotalMilliseconds;
        using var connection = store.Open();
        var user = UserStore.Find(connection, http.User().Id)!;
        // credits: kept from the first version of this answer, the same number as balance.
        return TypedResults.Ok(new AccountView(user.Id, user.Name, user.Credits, user.Credits, user.IsAdmin, Clock.Iso(from)!, Offers(connection, user.Id, from)));
    }

    /// <summary>
    /// The user's requests created since <paramref name="from"/> (index requests_user), per
    /// offer; each request's credits are its ledger rows' (charges minus refunds, every run),
    /// found through ledger_once by the request's seq.
    /// </summary>
    public const string OffersSql =
        """
        SELECT service, action, COUNT(*),
            SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END),
            SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END),
            SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END),
            CAST(SUM(spent) AS BIGINT)
        FROM (
            SELECT r.service, r.action, r.status,
                COALESCE((SELECT -SUM(l.amount) FROM ledger l WHERE l.request_seq = r.seq AND l.kind IN ('charge', 'refund')), 0) AS spent
            FROM requests r
            WHERE r.user_id = @u AND r.created_at >= @from AND r.kind <> 'step') mine
        GROUP BY service, action
        ORDER BY service, action
        """;

    public static List<OfferSpending> Offers(DbConnection connection, string userId, long from)
    {
        using var command = connection.Sql(OffersSql, ("@u", userId), ("@from", from));
        using var reader = command.ExecuteReader();
        var offers = new List<OfferSpending>();
        while (reader.Read())
        {
            offers.Add(new OfferSpending(
                reader.GetString(0) + "/" + reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4),
                reader.GetInt64(5), reader.GetInt64(6)));
        }
        return offers;
    }
}

/// <summary><c>GET /svc/me/</c>.</summary>
/// <param name="Credits">The same number as <see cref="Balance"/>, kept from the first version of this answer.</param>
/// <param name="Since">The start of the period <see cref="Offers"/> covers.</param>
public sealed record AccountView(string Id, string Name, long Balance, long Credits, bool IsAdmin, string Since, IReadOnlyList<OfferSpending> Offers);

/// <param name="Offer">"service/action".</param>
/// <param name="Credits">What the requests cost, net of refunds.</param>
public sealed record OfferSpending(string Offer, long Requests, long Succeeded, long Failed, long Cancelled, long Credits);
