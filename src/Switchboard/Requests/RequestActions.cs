using System.Data.Common;
using System.Globalization;
using Switchboard.Catalog;
using Switchboard.Config;
using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Resources;

namespace Switchboard.Requests;

public enum BulkAction
{
    /// <summary>Failed requests run again, each charged again (<see cref="RequestAdmin.Retry"/>).</summary>
    Retry,

    /// <summary>Queued or running requests cancelled, each refunded (<see cref="RequestAdmin.Cancel"/>).</summary>
    Cancel,
}

/// <summary>
/// A request a bulk action would touch, at the run it was seen in, and its credits: a retry's
/// charge at the current catalog's price, a cancel's refund. <see cref="Note"/> says why a retry
/// would be refused as the catalog is now (then its credits are 0).
/// </summary>
public sealed record BulkItem(string Id, int Run, string Kind, string Target, string User, string Status, long Credits, string? Note)
{
    /// <summary>The item as the confirmation form carries it: "id:run".</summary>
    public string Token => $"{Id}:{Run.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>What a bulk action would do: at most <see cref="RequestActions.MaxBatch"/> requests, newest first; <see cref="More"/> when the filter matches more.</summary>
public sealed record BulkPreview(BulkAction Action, IReadOnlyList<BulkItem> Items, bool More)
{
    /// <summary>Credits charged (retry) or refunded (cancel) in all.</summary>
    public long Credits => Items.Sum(i => i.Credits);

    /// <summary>Retries the current catalog would refuse.</summary>
    public int Blocked => Items.Count(i => i.Note is not null);
}

/// <summary>One item's outcome: "done", "skipped" (it changed since it was seen: nothing was done) or "refused" (with why: credits, catalog, resources).</summary>
public sealed record BulkItemOutcome(string Id, string Outcome, string? Detail);

/// <summary>What a bulk action did: counts, the credits charged or refunded, and each item's outcome.</summary>
public sealed record BulkResult(BulkAction Action, int Done, int Skipped, int Refused, long Credits, IReadOnlyList<BulkItemOutcome> Items);

/// <summary>
/// Retry and cancel, one request or many, for the panel's Requests pages (one service to inject
/// instead of the six parts a retry needs). Bulk retry and cancel are the one copy behind the panel's Requests page and
/// <c>POST /admin/api/requests/retry</c> / <c>cancel</c>: a preview of the requests a filter
/// matches (bounded by <see cref="MaxBatch"/>, the rest stays for the next action), then each
/// item through the single request's path (<see cref="RequestAdmin.Retry"/>,
/// <see cref="RequestAdmin.Cancel"/>) so every rule of one holds for each: charged or refunded
/// once, in its own writer unit. An item is pinned to the run it was previewed at: one that was
/// retried, finished or cancelled since is skipped, never acted on twice.
/// </summary>
public sealed class RequestActions(RequestLifecycle lifecycle, CatalogCache catalog, AppConfigs configs, IJobQueue queue, ResourceNeeds needs, IResourceGate gate)
{
    /// <summary>Retries one failed request (<see cref="RequestAdmin.Retry"/>).</summary>
    public Task<RetryResult> RetryAsync(string id) => RequestAdmin.Retry(id, lifecycle, catalog.Current, configs, queue, needs, gate);

    /// <summary>Cancels one queued or running request (<see cref="RequestAdmin.Cancel"/>).</summary>
    public Task<(CancelOutcome Outcome, RequestRecord? Request)> CancelAsync(string id, string admin) => RequestAdmin.Cancel(id, admin, lifecycle);

    /// <summary>The most requests one action touches; the rest stays for the next.</summary>
    public const int MaxBatch = 1000;

    /// <summary>The statuses an action applies to.</summary>
    public static IReadOnlyList<string> StatusesOf(BulkAction action) =>
        action == BulkAction.Retry ? [RequestStatus.Failed] : [RequestStatus.Queued, RequestStatus.Running];

    /// <summary>
    /// The requests <paramref name="filter"/> matches that <paramref name="action"/> applies to
    /// (its status, within the filter's if it names one), newest first, at most
    /// <paramref name="limit"/> (≤ <see cref="MaxBatch"/>); the filter's page cursor and limit are not used.
    /// </summary>
    public BulkPreview Preview(RequestFilter filter, BulkAction action, int limit = MaxBatch)
    {
        limit = Math.Clamp(limit, 1, MaxBatch);
        using var connection = lifecycle.Store.Open();
        var rows = new List<RequestRow>();
        var more = false;
        // One search per status: each the statement RequestAdmin.Search runs (its plans are tested).
        foreach (var status in StatusesOf(action).Where(s => filter.Status is null || filter.Status == s))
        {
            var page = RequestAdmin.Search(connection, filter with { Status = status, Limit = limit, Before = null });
            rows.AddRange(page.Rows);
            more |= page.Older is not null;
        }
        rows.Sort((a, b) => b.Seq.CompareTo(a.Seq));
        if (rows.Count > limit)
        {
            rows.RemoveRange(limit, rows.Count - limit);
            more = true;
        }
        var current = catalog.Current;
        var items = rows.Select(r => action == BulkAction.Retry ? RetryItem(connection, current, r) : CancelItem(connection, r)).ToList();
        return new BulkPreview(action, items, more);
    }

    private BulkItem RetryItem(DbConnection connection, CatalogSnapshot current, RequestRow r)
    {
        BulkItem Item(long credits, string? note = null) => new(r.Id, r.Run, r.Kind, r.Target, r.User, r.Status, note is null ? credits : 0, note);
        if (r.Kind != "deal")
        {
            var (service, action) = (r.Target.Split('/')[0], r.Target.Split('/')[1]);
            return current.FindOffer(service, action) is not { } offer || !current.IsLive(offer) ? Item(0, $"the offer {r.Target} is not live now")
                : !configs.Services.IsInstalled(offer.Handler) ? Item(0, $"the handler '{offer.Handler}' is not installed")
                : Item(offer.Price);
        }
        var record = RequestRecord.Load(connection, r.Id);
        var addons = record is not null && JsonNode.Parse(record.Params)?["addons"] is JsonArray list ? list.Select(a => a!.GetValue<string>()).ToList() : [];
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        return current.FindDeal(r.Target) is { } deal && current.IsLive(deal) && DealPricing.Quote(current, deal, addons, errors) is { } quote
            ? Item(quote.Price)
            : Item(0, $"the deal '{r.Target}' is not live now");
    }

    private static BulkItem CancelItem(DbConnection connection, RequestRow r)
    {
        // An offer's run is refunded its price; a deal's, the shares of its steps not finished (RequestLifecycle.CancelDeal).
        var refund = r.Kind != "deal" ? r.Price : connection.Scalar<long>(
            "SELECT COALESCE(SUM(price), 0) FROM requests WHERE parent = @deal AND run = @run AND status IN (@queued, @running, @waiting)",
            ("@deal", r.Id), ("@run", r.Run), ("@queued", RequestStatus.Queued), ("@running", RequestStatus.Running), ("@waiting", RequestStatus.Waiting));
        return new BulkItem(r.Id, r.Run, r.Kind, r.Target, r.User, r.Status, refund, null);
    }

    /// <summary>
    /// Reads the items of a confirmation form ("id:run" separated by spaces or commas); null
    /// when one is malformed or there are more than <see cref="MaxBatch"/>.
    /// </summary>
    public static IReadOnlyList<(string Id, int Run)>? ParseItems(string? text)
    {
        var items = new List<(string, int)>();
        foreach (var token in (text ?? "").Split([' ', ',', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (token.Split(':') is not [var id, var run] || !RequestEndpoints.IsRequestId(id)
                || !int.TryParse(run, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
            {
                return null;
            }
            items.Add((id, n));
        }
        return items.Count > MaxBatch ? null : [.. items.Distinct()];
    }

    /// <summary>
    /// Does <paramref name="action"/> to each item, one at a time through the single request's
    /// path; an item whose run or status changed since it was seen is skipped. A retry refused
    /// (credits, catalog, resources) changes nothing for that item and is counted as refused.
    /// </summary>
    public async Task<BulkResult> ApplyAsync(BulkAction action, IReadOnlyList<(string Id, int Run)> items, string admin)
    {
        var outcomes = new List<BulkItemOutcome>();
        long credits = 0;
        foreach (var (id, run) in items.Take(MaxBatch))
        {
            RequestRecord? seen;
            using (var connection = lifecycle.Store.Open())
            {
                seen = RequestRecord.Load(connection, id);
            }
            if (seen is null || seen.IsStep || seen.Run != run || !StatusesOf(action).Contains(seen.Status))
            {
                outcomes.Add(new(id, "skipped", seen is null || seen.IsStep ? "no such request" : $"it is {seen.Status} at run {seen.Run} now"));
                continue;
            }
            var (outcome, detail, amount) = action == BulkAction.Retry ? await RetryOne(id) : await CancelOne(id, run, admin);
            outcomes.Add(new(id, outcome, detail));
            credits += amount;
        }
        return new BulkResult(action, outcomes.Count(o => o.Outcome == "done"), outcomes.Count(o => o.Outcome == "skipped"),
            outcomes.Count(o => o.Outcome == "refused"), credits, outcomes);
    }

    private async Task<(string, string?, long)> RetryOne(string id)
    {
        var result = await RetryAsync(id);
        switch (result.Outcome)
        {
            case RetryOutcome.Retried:
                using (var connection = lifecycle.Store.Open())
                {
                    return ("done", null, RequestRecord.Load(connection, id)!.Price);
                }
            case RetryOutcome.NotFound or RetryOutcome.NotFailed:
                return ("skipped", result.Detail, 0);
            default:
                return ("refused", result.Detail, 0);
        }
    }

    private async Task<(string, string?, long)> CancelOne(string id, int run, string admin)
    {
        var (outcome, request) = await CancelAsync(id, admin);
        if (outcome != CancelOutcome.Cancelled)
        {
            return ("skipped", request is null ? "no such request" : $"it is {request.Status} already", 0);
        }
        using var connection = lifecycle.Store.Open();
        var refunded = connection.Scalar<long>(
            "SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE request_id = @id AND run = @run AND kind = 'refund' AND note = 'cancelled'",
            ("@id", id), ("@run", run));
        return ("done", null, refunded);
    }
}
