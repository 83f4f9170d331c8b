using System.Data.Common;
using Npgsql;

namespace Switchboard.Catalog;

/// <summary>What saving one catalog entry did: the entry as stored, or why nothing was.</summary>
public sealed record CatalogEdit<T>(T? Entry, IReadOnlyList<string> Errors) where T : class
{
    public bool Saved => Errors.Count == 0;
}

/// <summary>What a delete did: nothing when the entry was not there or is still used (by <see cref="UsedBy"/>).</summary>
public sealed record CatalogDelete(bool Found, IReadOnlyList<string> UsedBy)
{
    public bool Deleted => Found && UsedBy.Count == 0;
}

/// <summary>
/// Edits of single catalog entries, for the admin JSON API and the admin panel alike: an entry
/// is the one the catalog file holds, checked by <see cref="CatalogDocument"/> as
/// <c>catalog apply</c> checks it. The check reads the existing handlers and offers inside the
/// write unit, after taking the catalog's lock, so a concurrent delete cannot slip between the
/// check and the write; every change bumps the catalog version (the live catalogs follow within
/// a poll). Errors come without the file's place ("offers[0] (a/b): "): there is one entry.
/// </summary>
public static class CatalogEdits
{
    private static readonly HashSet<string> NoIds = [];

    public static Task<CatalogEdit<HandlerEntry>> SaveHandler(Store store, IReadOnlySet<string> implementations, string id, JsonObject body)
    {
        var entry = Keyed(body, "handler", out var mismatch, ("id", id));
        if (mismatch.Count > 0)
        {
            return Task.FromResult(new CatalogEdit<HandlerEntry>(null, mismatch));
        }
        return store.WriteAsync(c =>
        {
            LockCatalog(c);
            var parsed = CatalogDocument.Parse(new JsonObject { ["handlers"] = new JsonArray(entry) }, implementations, NoIds, NoIds);
            if (parsed.Errors.Count > 0)
            {
                return new CatalogEdit<HandlerEntry>(null, Unplaced(parsed.Errors, "handlers", id));
            }
            CatalogStore.Upsert(c, parsed.Handlers, []);
            return new CatalogEdit<HandlerEntry>(CatalogStore.Load(c).Handlers[id], []);
        });
    }

    public static Task<CatalogEdit<OfferEntry>> SaveOffer(Store store, IReadOnlySet<string> implementations, string service, string action, JsonObject body,
        ParamsCheck? checkParams = null)
    {
        var entry = Keyed(body, "offer", out var mismatch, ("service", service), ("action", action));
        if (mismatch.Count > 0)
        {
            return Task.FromResult(new CatalogEdit<OfferEntry>(null, mismatch));
        }
        return store.WriteAsync(c =>
        {
            LockCatalog(c);
            var handlers = CatalogStore.Load(c).Handlers.Keys.ToHashSet(StringComparer.Ordinal);
            var parsed = CatalogDocument.Parse(new JsonObject { ["offers"] = new JsonArray(entry) }, implementations, handlers, NoIds, checkParams);
            if (parsed.Errors.Count > 0)
            {
                return new CatalogEdit<OfferEntry>(null, Unplaced(parsed.Errors, "offers", $"{service}/{action}"));
            }
            CatalogStore.Upsert(c, [], parsed.Offers);
            return new CatalogEdit<OfferEntry>(CatalogStore.Load(c).FindOffer(service, action), []);
        });
    }

    public static Task<CatalogEdit<DealEntry>> SaveDeal(Store store, string name, JsonObject body)
    {
        var entry = Keyed(body, "deal", out var mismatch, ("name", name));
        if (mismatch.Count > 0)
        {
            return Task.FromResult(new CatalogEdit<DealEntry>(null, mismatch));
        }
        return store.WriteAsync(c =>
        {
            LockCatalog(c);
            var offers = CatalogStore.Load(c).Offers.Select(o => $"{o.Service}/{o.Action}").ToHashSet(StringComparer.Ordinal);
            var parsed = CatalogDocument.Parse(new JsonObject { ["deals"] = new JsonArray(entry) }, NoIds, NoIds, offers);
            if (parsed.Errors.Count > 0)
            {
                return new CatalogEdit<DealEntry>(null, Unplaced(parsed.Errors, "deals", name));
            }
            CatalogStore.Upsert(c, [], [], parsed.Deals);
            return new CatalogEdit<DealEntry>(CatalogStore.LoadDeals(c, name).Single(), []);
        });
    }

    /// <summary>
    /// <c>catalog apply</c>: a whole catalog document checked against the store and upserted in
    /// one unit (run it on the writer), under the same lock as the single edits; nothing is
    /// written when it has errors.
    /// </summary>
    public static CatalogDocument.Parsed Apply(DbConnection connection, IReadOnlySet<string> implementations, JsonNode? document, ParamsCheck? checkParams = null)
    {
        LockCatalog(connection);
        var existing = CatalogStore.Load(connection);
        var parsed = CatalogDocument.Parse(document, implementations,
            existing.Handlers.Keys.ToHashSet(StringComparer.Ordinal), existing.Offers.Select(o => $"{o.Service}/{o.Action}").ToHashSet(StringComparer.Ordinal), checkParams);
        if (parsed.Errors.Count == 0)
        {
            CatalogStore.Upsert(connection, parsed.Handlers, parsed.Offers, parsed.Deals);
        }
        return parsed;
    }

    /// <summary>Turns a handler on or off; false when there is none.</summary>
    public static Task<bool> EnableHandler(Store store, string id, bool enabled) =>
        store.WriteAsync(c => CatalogStore.SetHandlerEnabled(c, id, enabled));

    /// <summary>Turns an offer on or off; false when there is none.</summary>
    public static Task<bool> EnableOffer(Store store, string service, string action, bool enabled) =>
        store.WriteAsync(c => CatalogStore.SetOfferEnabled(c, service, action, enabled));

    /// <summary>Turns a deal on or off; false when there is none.</summary>
    public static Task<bool> EnableDeal(Store store, string name, bool enabled) =>
        store.WriteAsync(c => CatalogStore.SetDealEnabled(c, name, enabled));

    /// <summary>Deletes a handler no offer runs on; <see cref="CatalogDelete.UsedBy"/> names the offers that do.</summary>
    public static Task<CatalogDelete> DeleteHandler(Store store, string id) =>
        store.WriteAsync(c =>
        {
            LockCatalog(c);
            if (!CatalogStore.Load(c).Handlers.ContainsKey(id))
            {
                return new CatalogDelete(false, []);
            }
            var users = CatalogStore.OffersOf(c, id);
            return users.Count > 0 ? new CatalogDelete(true, users) : new CatalogDelete(CatalogStore.DeleteHandler(c, id), []);
        });

    /// <summary>
    /// Deletes an offer no deal names (as an item or an add-on); <see cref="CatalogDelete.UsedBy"/>
    /// names the deals that do. Its past requests keep working: each holds its own handler,
    /// prompt and params, and nothing in the schema refers to the offer row.
    /// </summary>
    public static Task<CatalogDelete> DeleteOffer(Store store, string service, string action) =>
        store.WriteAsync(c =>
        {
            LockCatalog(c);
            if (CatalogStore.Load(c).FindOffer(service, action) is null)
            {
                return new CatalogDelete(false, []);
            }
            var offer = $"{service}/{action}";
            var users = DealsUsing(c, offer);
            return users.Count > 0 ? new CatalogDelete(true, users) : new CatalogDelete(CatalogStore.DeleteOffer(c, service, action), []);
        });

    /// <summary>Deletes a deal; nothing refers to a deal (its past requests hold their own steps).</summary>
    public static Task<CatalogDelete> DeleteDeal(Store store, string name) =>
        store.WriteAsync(c =>
        {
            LockCatalog(c);
            return new CatalogDelete(CatalogStore.DeleteDeal(c, name), []);
        });

    /// <summary>The deals that name <paramref name="offer"/> ("service/action") as an item or an add-on.</summary>
    public static IReadOnlyList<string> DealsUsing(DbConnection connection, string offer) =>
        [.. CatalogStore.LoadDeals(connection).Where(d => d.Offers.Concat(d.Addons).Any(i => i.Offer == offer)).Select(d => d.Name)];

    /// <summary>
    /// Serializes catalog edits across processes. SQLite's writer already holds the database's
    /// write lock (BEGIN IMMEDIATE); on PostgreSQL the catalog version's row is the lock, held
    /// until this unit's transaction ends, so a check and the write it allows see one catalog.
    /// </summary>
    private static void LockCatalog(DbConnection connection)
    {
        if (connection is NpgsqlConnection)
        {
            connection.Execute("SELECT value FROM meta WHERE key = @k FOR UPDATE", ("@k", Meta.CatalogVersion));
        }
    }

    /// <summary>
    /// A copy of <paramref name="body"/> with its key fields set from the path; a key field the
    /// body gives differently is an error (renaming is a new entry and a delete, not an edit).
    /// </summary>
    private static JsonObject Keyed(JsonObject body, string what, out List<string> errors, params (string Name, string Value)[] keys)
    {
        var entry = (JsonObject)body.DeepClone();
        errors = [];
        foreach (var (name, value) in keys)
        {
            if (entry[name] is { } given && (given is not JsonValue v || !v.TryGetValue<string>(out var text) || text != value))
            {
                errors.Add($"{name} {given.ToJsonString()} does not match the {what}'s path ('{value}'); leave it out or make it the same");
            }
            entry[name] = value;
        }
        return entry;
    }

    /// <summary>The errors of the one entry, without the file's "section[0] (key): " place.</summary>
    private static List<string> Unplaced(IEnumerable<string> errors, string section, string key)
    {
        string[] places = [$"{section}[0] ({key}): ", $"{section}[0]: "];
        return [.. errors.Select(e => places.FirstOrDefault(p => e.StartsWith(p, StringComparison.Ordinal)) is { } p ? e[p.Length..] : e)];
    }
}
