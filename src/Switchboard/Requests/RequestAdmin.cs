using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Catalog;
using Switchboard.Config;
using Switchboard.Credits;
using Switchboard.Deals;
using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Resources;
using Switchboard.Storage;
using Switchboard.Users;
using Switchboard.Fairness;

namespace Switchboard.Requests;

/// <summary>What an admin searches requests by; every part is optional but the limit.</summary>
/// <param name="Offer">"service/action": offer requests of that offer.</param>
/// <param name="Deal">A deal's name: requests of that deal.</param>
/// <param name="From">Created at or after (Unix ms).</param>
/// <param name="To">Created before (Unix ms).</param>
/// <param name="Before">The cursor of the next page: only requests older than this one (its <c>seq</c>).</param>
public sealed record RequestFilter(string? Status, string? User, string? Offer, string? Deal, long? From, long? To, int Limit, long? Before);

/// <summary>A request in a search's result.</summary>
public sealed record RequestRow(
    long Seq, string Id, string Kind, string Target, string User, string Status, long Price, int Run, int Attempts, int MaxAttempts, long CreatedAt,
    long? StartedAt = null, long? FinishedAt = null, string? ErrorCode = null, int Priority = Priorities.Default);

/// <summary>A page of requests, newest first, and the cursor of the next (older) page when there is one.</summary>
public sealed record RequestPage(IReadOnlyList<RequestRow> Rows, long? Older);

/// <summary>A ledger row of one request; <see cref="Step"/> is a deal's step a refund is for.</summary>
public sealed record RequestLedgerRow(LedgerEntry Entry, int? Step);

/// <summary>
/// A request as an admin sees it: the client's request object (a deal's with its steps, as
/// <see cref="DealView"/> shows it), its user's name and every ledger row of its id.
/// </summary>
public sealed record RequestDetail(RequestRecord Request, string User, JsonObject Json, IReadOnlyList<RequestLedgerRow> Ledger);

public enum RetryOutcome
{
    Retried,
    NotFound,
    NotFailed,

    /// <summary>The offer is gone or not live in the current catalog.</summary>
    OfferNotLive,

    /// <summary>The deal (or one of its items, or a chosen add-on) is gone or not live in the current catalog.</summary>
    DealNotLive,

    /// <summary>The stored inputs are not the current offer's (or deal's) inputs any more.</summary>
    InputsChanged,
    NotInstalled,
    InsufficientCredits,

    /// <summary>A resource the request needs is exhausted and set to reject new work, as a submit would be refused.</summary>
    ResourceExhausted,
}

/// <summary>What a retry did: the new run, or why nothing was changed (<see cref="Detail"/> says it for people).</summary>
public sealed record RetryResult(RetryOutcome Outcome, int Run = 0, string Detail = "", long Balance = 0, long Price = 0, ResourceRefusal? Refusal = null);

/// <summary>
/// Requests for admins, the one copy of the rules behind the panel's Requests page and
/// <c>/admin/api/requests</c>: search, detail, retry and cancel. A retry is a client's
/// re-submission of the same inputs made for them: rebuilt from the current catalog and run
/// through <see cref="RequestLifecycle.ResubmitFailedAsync"/> (or <see cref="RequestLifecycle.ResubmitFailedDealAsync"/>), so it is a new
/// run under the same id, charged again; a cancel is the client's cancel
/// (<see cref="RequestEndpoints.CancelAndStop"/>) made with the request's own user. A deal's steps
/// are not requests of their own here either.
/// </summary>
public static class RequestAdmin
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    /// <summary>The statuses a request (not a step) can have.</summary>
    public static readonly IReadOnlyList<string> Statuses =
        [RequestStatus.Queued, RequestStatus.Running, RequestStatus.Succeeded, RequestStatus.Failed, RequestStatus.Cancelled, RequestStatus.Expired];

    /// <summary>
    /// Reads a filter from named values (query string or form; blank is absent), each error led
    /// by the name of the value it is about. Times are Unix milliseconds or an ISO 8601 date
    /// and time, taken as UTC when it names no offset (what a datetime-local field sends).
    /// </summary>
    public static RequestFilter? ParseFilter(Func<string, string?> value, List<string> errors)
    {
        string? Get(string name) => value(name) is { } text && !string.IsNullOrWhiteSpace(text) ? text.Trim() : null;
        var status = Get("status");
        if (status is not null && !Statuses.Contains(status))
        {
            errors.Add($"status must be one of {string.Join(", ", Statuses)}");
        }
        var offer = Get("offer");
        if (offer is not null && offer.Split('/') is not [{ Length: > 0 }, { Length: > 0 }])
        {
            errors.Add("offer must be service/action");
        }
        var from = Time("from", Get("from"), errors);
        var to = Time("to", Get("to"), errors);
        var limit = DefaultLimit;
        if (Get("limit") is { } l && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit))
        {
            errors.Add($"limit must be a whole number from 1 to {MaxLimit}");
        }
        long? before = null;
        if (Get("before") is { } b)
        {
            if (long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var cursor) && cursor > 0)
            {
                before = cursor;
            }
            else
            {
                errors.Add("before must be the cursor of a page (a positive whole number)");
            }
        }
        return errors.Count > 0 ? null : new RequestFilter(status, Get("user"), offer, Get("deal"), from, to, limit, before);
    }

    private static long? Time(string name, string? text, List<string> errors)
    {
        if (text is null)
        {
            return null;
        }
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
        {
            return ms;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            return time.ToUnixTimeMilliseconds();
        }
        errors.Add($"{name} must be a time: Unix milliseconds or an ISO 8601 date and time (UTC unless it says otherwise)");
        return null;
    }

    /// <summary>
    /// The statement <see cref="Search"/> runs for <paramref name="filter"/> (its plans are
    /// tested): newest first by arrival, a user's through <c>requests_user_seq</c>, failed ones
    /// through <c>requests_failed</c>, others by the primary key walked backwards.
    /// </summary>
    /// <param name="userId">The id of <see cref="RequestFilter.User"/>, looked up first: a value the planner can weigh (a subquery's is unknown to it, so PostgreSQL walked the whole table for a rare user).</param>
    public static (string Sql, (string, object?)[] Args) SearchSql(RequestFilter filter, string? userId)
    {
        var where = new List<string> { "r.kind <> 'step'" };
        var args = new List<(string, object?)> { ("@limit", filter.Limit + 1) };
        if (filter.Status is { } status)
        {
            // A literal, not a parameter (it is one of Statuses, checked by ParseFilter): only
            // then may SQLite use the partial index of failed requests.
            where.Add($"r.status = '{Statuses.Single(s => s == status)}'");
        }
        if (filter.User is not null)
        {
            where.Add("r.user_id = @user");
            args.Add(("@user", userId));
        }
        if (filter.Offer is { } offer)
        {
            var (service, action) = (offer.Split('/')[0], offer.Split('/')[1]);
            where.Add("r.kind = 'offer' AND r.service = @service AND r.action = @action");
            args.AddRange([("@service", service), ("@action", action)]);
        }
        if (filter.Deal is { } deal)
        {
            where.Add("r.kind = 'deal' AND r.service = 'deal' AND r.action = @deal");
            args.Add(("@deal", deal));
        }
        if (filter.From is { } from)
        {
            where.Add("r.created_at >= @from");
            args.Add(("@from", from));
        }
        if (filter.To is { } to)
        {
            where.Add("r.created_at < @to");
            args.Add(("@to", to));
        }
        if (filter.Before is { } before)
        {
            where.Add("r.seq < @before");
            args.Add(("@before", before));
        }
        return ($"""
            SELECT r.seq, r.id, r.kind, r.service, r.action, u.name, r.status, r.price, r.run, r.attempts, r.max_attempts, r.created_at,
                r.started_at, r.finished_at, r.error_code, r.priority
            FROM requests r JOIN users u ON u.id = r.user_id
            WHERE {string.Join(" AND ", where)}
            ORDER BY r.seq DESC LIMIT @limit
            """, [.. args]);
    }

    /// <summary>Requests (never a deal's steps) matching the filter, <see cref="RequestFilter.Limit"/> at most, and the cursor of the next page.</summary>
    public static RequestPage Search(DbConnection connection, RequestFilter filter)
    {
        string? userId = null;
        if (filter.User is { } name && (userId = UserStore.Find(connection, name)?.Id) is null)
        {
            return new RequestPage([], null);
        }
        var (sql, args) = SearchSql(filter, userId);
        using var command = connection.Sql(sql, args);
        using var reader = command.ExecuteReader();
        var rows = new List<RequestRow>();
        while (reader.Read())
        {
            var kind = reader.GetString(2);
            rows.Add(new RequestRow(
                reader.GetInt64(0), reader.GetString(1), kind, kind == "deal" ? reader.GetString(4) : $"{reader.GetString(3)}/{reader.GetString(4)}",
                reader.GetString(5), reader.GetString(6), reader.GetInt64(7), reader.GetInt32(8), reader.GetInt32(9), reader.GetInt32(10), reader.GetInt64(11),
                reader.LongOrNull(12), reader.LongOrNull(13), reader.StringOrNull(14), reader.GetInt32(15)));
        }
        var more = rows.Count > filter.Limit;
        if (more)
        {
            rows.RemoveAt(rows.Count - 1);
        }
        return new RequestPage(rows, more ? rows[^1].Seq : null);
    }

    /// <summary>A request with its user and ledger; null for an unknown id or a deal's step.</summary>
    public static RequestDetail? Detail(DbConnection connection, string id)
    {
        var request = RequestEndpoints.IsRequestId(id) ? RequestRecord.Load(connection, id) : null;
        if (request is null || request.IsStep)
        {
            return null;
        }
        var user = UserStore.Find(connection, request.UserId)!.Name;
        var json = request.Kind == "deal" ? DealView.ToJson(connection, request) : request.ToJson();
        json.Remove("url");
        json["user"] = user;
        json["handler"] = request.Handler;
        var ledger = new List<RequestLedgerRow>();
        using (var command = connection.Sql(
            """
            SELECT id, kind, amount, request_id, run, note, created_at, actor, step FROM ledger
            WHERE request_seq = (SELECT seq FROM requests WHERE id = @id) ORDER BY id
            """,
            ("@id", id)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                ledger.Add(new RequestLedgerRow(
                    new LedgerEntry(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.StringOrNull(3), reader.IntOrNull(4),
                        reader.StringOrNull(5), reader.GetInt64(6), reader.StringOrNull(7)),
                    reader.IntOrNull(8)));
            }
        }
        json["ledger"] = new JsonArray([.. ledger.Select(l =>
        {
            var entry = CreditMoves.ToJson(l.Entry);
            entry["step"] = l.Step;
            return (JsonNode)entry;
        })]);
        return new RequestDetail(request, user, json, ledger);
    }

    /// <summary>
    /// Runs a failed request again as a new run under its id, charged again to its user, rebuilt
    /// from the current catalog and its stored inputs (and a deal's add-ons); then sends its
    /// job(s) as a submit does. Only a failed request: the status is checked again in the
    /// writer unit, so of two retries at once one makes the new run and the other finds it queued.
    /// </summary>
    public static async Task<RetryResult> Retry(string id, RequestLifecycle lifecycle, CatalogSnapshot catalog, AppConfigs configs, IJobQueue queue, ResourceNeeds needs, IResourceGate gate)
    {
        RequestRecord? current;
        using (var connection = lifecycle.Store.Open())
        {
            current = RequestEndpoints.IsRequestId(id) ? RequestRecord.Load(connection, id) : null;
        }
        if (current is null || current.IsStep)
        {
            return new RetryResult(RetryOutcome.NotFound);
        }
        if (current.Status != RequestStatus.Failed)
        {
            return NotFailed(current.Status);
        }
        try
        {
            return current.Kind == "deal"
                ? await RetryDeal(current, lifecycle, catalog, configs, queue, needs, gate)
                : await RetryOffer(current, lifecycle, catalog, configs, queue, needs, gate);
        }
        catch (InsufficientCreditsException ex)
        {
            return new RetryResult(RetryOutcome.InsufficientCredits, Detail: ex.Message, Balance: ex.Balance, Price: ex.Price);
        }
    }

    private static RetryResult Refused(ResourceRefusal refusal) =>
        new(RetryOutcome.ResourceExhausted, Detail: refusal.Detail, Refusal: refusal);

    private static RetryResult NotFailed(string status) =>
        new(RetryOutcome.NotFailed, Detail: $"It is {status}; only a failed request can be retried.");

    private static async Task<RetryResult> RetryOffer(RequestRecord current, RequestLifecycle lifecycle, CatalogSnapshot catalog, AppConfigs configs, IJobQueue queue, ResourceNeeds needs, IResourceGate gate)
    {
        var target = $"{current.Service}/{current.Action}";
        var offer = catalog.FindOffer(current.Service, current.Action);
        if (offer is null || !catalog.IsLive(offer))
        {
            return new RetryResult(RetryOutcome.OfferNotLive, Detail: $"The offer {target} is not live now.");
        }
        if (!configs.Services.IsInstalled(offer.Handler))
        {
            return new RetryResult(RetryOutcome.NotInstalled, Detail: $"The handler '{offer.Handler}' of {target} is not installed (service_map config).");
        }
        if (await SubmitEndpoint.Exhausted(needs, gate, offer.Handler) is { } refusal)
        {
            return Refused(refusal);
        }
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Inputs(current, offer.Template.Variables, configs.Api, errors) is not { } inputs)
        {
            return InputsChanged(target, errors);
        }
        // The stored priority: a retry is the same purchase again, not a new choice of level.
        var request = SubmitEndpoint.Build(current.Id, current.UserId, offer, inputs, configs.Api) with { Priority = current.Priority };
        var result = await lifecycle.ResubmitFailedAsync(request, Clock.NowMs());
        if (result is not { Outcome: SubmitOutcome.Rerun })
        {
            return NotFailed(result?.Existing?.Status ?? "no longer failed");
        }
        // Committed: as after a submit, a message lost from here on is sent again by recovery.
        await queue.EnqueueAsync(
            new JobMessage(current.Id, result.Run, offer.Handler, current.UserId, request.Priority, Weight(lifecycle, current.UserId)), CancellationToken.None);
        return new RetryResult(RetryOutcome.Retried, result.Run);
    }

    private static async Task<RetryResult> RetryDeal(RequestRecord current, RequestLifecycle lifecycle, CatalogSnapshot catalog, AppConfigs configs, IJobQueue queue, ResourceNeeds needs, IResourceGate gate)
    {
        var name = current.Action;
        var deal = catalog.FindDeal(name);
        if (deal is null || !catalog.IsLive(deal))
        {
            return new RetryResult(RetryOutcome.DealNotLive, Detail: $"The deal '{name}' is not live now.");
        }
        var addons = JsonNode.Parse(current.Params)?["addons"] is JsonArray list ? list.Select(a => a!.GetValue<string>()).ToList() : [];
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        if (DealPricing.Quote(catalog, deal, addons, errors) is not { } quote)
        {
            return new RetryResult(RetryOutcome.DealNotLive, Detail: $"The deal '{name}' cannot be made with its add-ons now: {string.Join("; ", errors.Select(e => $"{e.Key} {e.Value}"))}.");
        }
        if (quote.Items.FirstOrDefault(i => !configs.Services.IsInstalled(i.Offer.Handler)) is { } missing)
        {
            return new RetryResult(RetryOutcome.NotInstalled, Detail: $"The handler '{missing.Offer.Handler}' of {missing.Item.Offer} is not installed (service_map config).");
        }
        foreach (var item in quote.Items)
        {
            if (await SubmitEndpoint.Exhausted(needs, gate, item.Offer.Handler) is { } refusal)
            {
                return Refused(refusal);
            }
        }
        var variables = DealInputs.Of(quote.Items.Select(i => (i.Item, i.Offer)));
        if (Inputs(current, variables, configs.Api, errors) is not { } inputs)
        {
            return InputsChanged($"the deal '{name}'", errors);
        }
        var newDeal = DealSubmitEndpoint.Build(current.Id, current.UserId, quote, inputs, configs.Api)
            with { Priority = current.Priority, Weight = Weight(lifecycle, current.UserId) };
        var result = await lifecycle.ResubmitFailedDealAsync(newDeal, Clock.NowMs());
        if (result.Result is not { Outcome: SubmitOutcome.Rerun })
        {
            return NotFailed(result.Result?.Existing?.Status ?? "no longer failed");
        }
        foreach (var message in result.Start)
        {
            await queue.EnqueueAsync(message, CancellationToken.None);
        }
        return new RetryResult(RetryOutcome.Retried, result.Result.Run);
    }

    private static int Weight(RequestLifecycle lifecycle, string userId)
    {
        using var connection = lifecycle.Store.Open();
        return RequestLifecycle.UserWeight(connection, userId);
    }

    /// <summary>The stored inputs checked as a submit checks a body's, against the current variables; null (and why in <paramref name="errors"/>) when they no longer fit.</summary>
    private static RequestInputs? Inputs(RequestRecord request, IReadOnlyList<string> variables, ApiConfig settings, Dictionary<string, string> errors)
    {
        using var document = JsonDocument.Parse(request.Inputs);
        return RequestInputs.Validate(document.RootElement, variables, settings.MaxValueChars, errors);
    }

    private static RetryResult InputsChanged(string target, Dictionary<string, string> errors) =>
        new(RetryOutcome.InputsChanged,
            Detail: $"The stored inputs do not fit {target} as it is now: {string.Join("; ", errors.Select(e => $"{e.Key} {e.Value}"))}.");

    /// <summary>
    /// Cancels a queued or running request (a deal: its unfinished steps) as its own user would,
    /// refunded once, and stops its jobs running here; a deal's step alone is not found. The
    /// stored message names the admin.
    /// </summary>
    public static async Task<(CancelOutcome Outcome, RequestRecord? Request)> Cancel(string id, string admin, RequestLifecycle lifecycle)
    {
        RequestRecord? current;
        using (var connection = lifecycle.Store.Open())
        {
            current = RequestEndpoints.IsRequestId(id) ? RequestRecord.Load(connection, id) : null;
        }
        if (current is null || current.IsStep)
        {
            return (CancelOutcome.NotFound, null);
        }
        return await RequestEndpoints.CancelAndStop(lifecycle, id, current.UserId, $"the admin {admin}");
    }
}
