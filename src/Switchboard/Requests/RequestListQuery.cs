using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Switchboard.Credits;
using Switchboard.Errors;
using Switchboard.Lifecycle;

namespace Switchboard.Requests;

/// <summary>
/// The query of <c>GET /svc/requests/</c>, read and checked: each bad parameter is its own
/// 400 problem (<see cref="Parse"/>), never a 500 and never a query that could reach another
/// user's rows (the user is never a parameter: it is the caller).
/// </summary>
/// <param name="Statuses">Null for any status; else the statuses asked for (each one of <see cref="RequestAdmin.Statuses"/>).</param>
/// <param name="Since">Created at or after (Unix ms).</param>
/// <param name="Before">From the cursor: only requests older than this <c>seq</c>.</param>
public sealed record RequestListQuery(
    IReadOnlyList<string>? Statuses, string? Service, string? Action, string? Deal, long? Since, int Limit, long? Before)
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;

    private static readonly string[] Known = ["status", "offer", "deal", "since", "limit", "cursor"];

    /// <summary>The query of <paramref name="query"/> for the caller <paramref name="userId"/>, or the problem of its first bad parameter.</summary>
    public static (RequestListQuery? Query, ProblemHttpResult? Problem) Parse(IQueryCollection query, string userId)
    {
        // Control characters never get here: RequestTextChecks answers invalid_query first.
        if (query.Keys.FirstOrDefault(k => !Known.Contains(k)) is { } unknown)
        {
            return Bad("unknown_parameter", "Unknown query parameter",
                $"'{Shown(unknown)}' is not a parameter of this endpoint; it takes {string.Join(", ", Known)}.");
        }
        if (query.FirstOrDefault(q => q.Value.Count > 1) is { Key: { } repeated })
        {
            return Bad(CodeOf(repeated), "Repeated query parameter", $"{repeated} may be given once.");
        }
        string? Get(string name) => query[name] is { Count: 1 } v && !string.IsNullOrWhiteSpace(v[0]) ? v[0]!.Trim() : null;

        List<string>? statuses = null;
        if (Get("status") is { } status)
        {
            statuses = [.. status.Split(',').Select(s => s.Trim()).Distinct()];
            if (statuses.FirstOrDefault(s => !RequestAdmin.Statuses.Contains(s)) is { } bad)
            {
                return Bad("invalid_status", "Unknown status",
                    $"'{Shown(bad)}' is not a status; status is one of {string.Join(", ", RequestAdmin.Statuses)}, or a comma list of them.");
            }
            statuses.Sort(StringComparer.Ordinal);
        }
        string? service = null, action = null;
        if (Get("offer") is { } offer)
        {
            if (offer.Split('/') is not [{ Length: > 0 } s, { Length: > 0 } a])
            {
                return Bad("invalid_filter", "Malformed offer", "offer is service/action, as the offer's path /svc/{service}/{action}/ names it.");
            }
            (service, action) = (s, a);
        }
        var deal = Get("deal");
        if (deal is not null && service is not null)
        {
            return Bad("invalid_filter", "Filters that exclude each other", "A request is an offer's or a deal's: give offer or deal, not both.");
        }
        long? since = null;
        if (Get("since") is { } sinceText)
        {
            if (ParseSince(sinceText) is not { } ms)
            {
                return Bad("invalid_since", "Malformed since",
                    "since is a time: an ISO 8601 date and time (UTC unless it says otherwise) or Unix milliseconds; "
                    + $"or a period back from now (90m, 24h, 30d; at most {AccountEndpoints.MaxPeriod.TotalDays:0}d).");
            }
            since = ms;
        }
        var limit = DefaultLimit;
        if (query.ContainsKey("limit")
            && (!int.TryParse(query["limit"][0], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit))
        {
            return Bad("invalid_limit", "Limit out of range", $"limit is a whole number from 1 to {MaxLimit} (default {DefaultLimit}).");
        }
        var parsed = new RequestListQuery(statuses, service, action, deal, since, limit, null);
        if (query.ContainsKey("cursor"))
        {
            if (ListCursor.Read(query["cursor"][0] ?? "", userId, parsed.FilterKey) is not { } before)
            {
                return Bad("invalid_cursor", "Invalid cursor",
                    "cursor is the next_cursor of a page of yours, sent with the same filters (status, offer, deal, since) as that page.");
            }
            parsed = parsed with { Before = before };
        }
        return (parsed, null);
    }

    /// <summary>The filters as one string: a cursor is bound to them, so it is never read against others (the limit may change).</summary>
    public string FilterKey =>
        $"{string.Join(',', Statuses ?? [])}\n{Service}\n{Action}\n{Deal}\n{Since?.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// A time: Unix milliseconds, an ISO 8601 date and time (UTC unless it names an offset; the
    /// round-trip forms only, so a locale's date is not guessed), or a period back from now
    /// (the <c>since</c> of <c>GET /svc/me/</c>). Null when malformed.
    /// </summary>
    public static long? ParseSince(string text)
    {
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
        {
            return ms;
        }
        if (AccountEndpoints.ParsePeriod(text) is { } period)
        {
            return Storage.Clock.NowMs() - (long)period.TotalMilliseconds;
        }
        string[] formats = ["yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd"];
        return DateTimeOffset.TryParseExact(text, formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time.ToUnixTimeMilliseconds()
            : null;
    }

    /// <summary>
    /// The statement of one page (its plans are tested in Persistence/RequestListPlanTests):
    /// the caller's requests newest first, through <c>requests_user_seq</c>, or
    /// <c>requests_user_target_seq</c> for an offer or a deal; one row more than the limit says
    /// whether another page follows.
    /// </summary>
    public (string Sql, (string, object?)[] Args) Sql(string userId)
    {
        var where = new List<string> { "user_id = @user", "kind <> 'step'" };
        var args = new List<(string, object?)> { ("@user", userId), ("@limit", Limit + 1) };
        if (Statuses is { } statuses)
        {
            // Literals (each one of RequestAdmin.Statuses, checked by Parse), as RequestAdmin.SearchSql does.
            where.Add($"status IN ({string.Join(", ", statuses.Select(s => $"'{RequestAdmin.Statuses.Single(k => k == s)}'"))})");
        }
        if (Service is not null)
        {
            where.Add("kind = 'offer' AND service = @service AND action = @action");
            args.AddRange([("@service", Service), ("@action", Action)]);
        }
        if (Deal is not null)
        {
            where.Add("kind = 'deal' AND service = 'deal' AND action = @deal");
            args.Add(("@deal", Deal));
        }
        if (Since is { } since)
        {
            where.Add("created_at >= @since");
            args.Add(("@since", since));
        }
        if (Before is { } before)
        {
            where.Add("seq < @before");
            args.Add(("@before", before));
        }
        return ($"""
            SELECT seq, id, kind, service, action, status, price, run, attempts, error_code, error_message, created_at, updated_at, finished_at, progress
            FROM requests
            WHERE {string.Join(" AND ", where)}
            ORDER BY seq DESC LIMIT @limit
            """, [.. args]);
    }

    private static (RequestListQuery?, ProblemHttpResult?) Bad(string code, string title, string detail) =>
        (null, Problems.Of(400, code, title, detail));

    private static string CodeOf(string parameter) => parameter switch
    {
        "status" => "invalid_status",
        "since" => "invalid_since",
        "limit" => "invalid_limit",
        "cursor" => "invalid_cursor",
        _ => "invalid_filter",
    };

    /// <summary>A value echoed in a problem's detail, cut short.</summary>
    private static string Shown(string value) => value.Length > 40 ? value[..40] + "…" : value;
}

/// <summary>
/// The opaque <c>next_cursor</c> of <c>GET /svc/requests/</c>: the <c>seq</c> of the last request
/// on the page, so the next page starts below it however many requests arrive meanwhile (new
/// ones have higher seqs), with a check made of the caller's id and the page's filters. The check
/// is a hash, not a keyed signature: it refuses a cursor edited by hand, another user's, or one
/// sent with other filters; one forged on purpose could only start a page of the caller's own
/// requests anywhere, which any cursor does, since the user is never read from it.
/// </summary>
public static class ListCursor
{
    public static string Write(long seq, string userId, string filterKey)
    {
        var text = $"{seq.ToString(CultureInfo.InvariantCulture)}.{Check(seq, userId, filterKey)}";
        return Base64Url.EncodeToString(Encoding.ASCII.GetBytes(text));
    }

    /// <summary>The seq a cursor holds, or null when it is malformed or not made for this user and these filters.</summary>
    public static long? Read(string cursor, string userId, string filterKey)
    {
        if (cursor.Length is 0 or > 64 || !Base64Url.IsValid(cursor))
        {
            return null;
        }
        var text = Encoding.ASCII.GetString(Base64Url.DecodeFromChars(cursor));
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !long.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var seq) || seq <= 0)
        {
            return null;
        }
        var expected = Encoding.ASCII.GetBytes(Check(seq, userId, filterKey));
        var given = Encoding.ASCII.GetBytes(text[(dot + 1)..]);
        return CryptographicOperations.FixedTimeEquals(expected, given) ? seq : null;
    }

    private static string Check(long seq, string userId, string filterKey) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"svc-requests-cursor-v1\n{userId}\n{filterKey}\n{seq}")), 0, 12);
}
