using System.Data.Common;

namespace Switchboard.Catalog;

/// <summary>Reads and upserts handlers, offers and deals in the store.</summary>
public static class CatalogStore
{
    /// <summary>The stored catalog, read on a connection of its own (the admin API's and the panel's pages).</summary>
    public static CatalogSnapshot Load(Store store)
    {
        using var connection = store.Open();
        return Load(connection);
    }

    public static CatalogSnapshot Load(DbConnection connection)
    {
        var handlers = new Dictionary<string, HandlerEntry>(StringComparer.Ordinal);
        using (var command = connection.Sql("SELECT id, credits, resource, enabled, credits_per_unit FROM handlers ORDER BY id"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var entry = new HandlerEntry(reader.GetString(0), reader.GetInt32(1), reader.StringOrNull(2), reader.GetInt64(3) != 0, PerUnitOf(reader.StringOrNull(4)));
                handlers[entry.Id] = entry;
            }
        }
        var offers = new List<OfferEntry>();
        using (var command = connection.Sql("SELECT service, action, handler, price, prompt_template, create_qty, expiration, params, enabled FROM offers ORDER BY service, action"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                // Templates were validated on the way in; a row that no longer parses (edited by
                // hand) is left out of the live catalog rather than taking the service down.
                if (!PromptTemplate.TryParse(reader.GetString(4), out var template, out _))
                {
                    continue;
                }
                offers.Add(new OfferEntry(
                    reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), template,
                    reader.GetInt32(5), reader.IntOrNull(6), JsonNode.Parse(reader.GetString(7)) as JsonObject ?? [], reader.GetInt64(8) != 0));
            }
        }
        return new CatalogSnapshot(handlers, offers, LoadDeals(connection));
    }

    /// <summary>A handler's stored per-unit rates (JSON), or null.</summary>
    private static Dictionary<string, double>? PerUnitOf(string? json) =>
        json is not null && JsonNode.Parse(json) is JsonObject rates
            ? rates.Where(r => r.Value is JsonValue).ToDictionary(r => r.Key, r => r.Value!.GetValue<double>(), StringComparer.Ordinal)
            : null;

    /// <summary>Every deal (enabled or not) in name order, or the one named <paramref name="name"/>.</summary>
    public static IReadOnlyList<DealEntry> LoadDeals(DbConnection connection, string? name = null)
    {
        const string Select = "SELECT name, offers, price, price_modifier, addons, addons_modifier, enabled FROM deals";
        var deals = new List<DealEntry>();
        using (var command = name is null ? connection.Sql(Select) : connection.Sql(Select + " WHERE name = @name", ("@name", name)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                // Like a template that no longer parses: a row whose items were edited into
                // something unreadable is left out rather than taking the catalog down.
                if (ReadItems(reader.GetString(1)) is { } offers && ReadItems(reader.GetString(4)) is { } addons)
                {
                    deals.Add(new DealEntry(reader.GetString(0), offers, reader.IntOrNull(2), reader.GetInt32(3), addons, reader.GetInt32(5), reader.GetInt64(6) != 0));
                }
            }
        }
        // Ordinal, not the database's collation: both stores (and export) list deals alike.
        return [.. deals.OrderBy(d => d.Name, StringComparer.Ordinal)];
    }

    private static List<DealItem>? ReadItems(string json)
    {
        try
        {
            var items = new List<DealItem>();
            foreach (var node in JsonNode.Parse(json) as JsonArray ?? [])
            {
                if (node?["offer"]?.GetValue<string>().Split('/') is not [var service, var action]
                    || node["pipeline"]?.GetValue<string>() is not { } pipeline || !Pipeline.Modes.Contains(pipeline))
                {
                    return null;
                }
                items.Add(new DealItem(service, action, pipeline));
            }
            return items;
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Upserts every entry in one transaction (run it on the writer); entries not named are left alone.</summary>
    public static void Upsert(DbConnection connection, IEnumerable<HandlerEntry> handlers, IEnumerable<OfferEntry> offers, IEnumerable<DealEntry>? deals = null)
    {
        foreach (var h in handlers)
        {
            connection.Execute(
                """
                INSERT INTO handlers (id, credits, resource, enabled, credits_per_unit) VALUES (@id, @credits, @resource, @enabled, @per_unit)
                ON CONFLICT (id) DO UPDATE SET credits = excluded.credits, resource = excluded.resource, enabled = excluded.enabled,
                    credits_per_unit = excluded.credits_per_unit
                """,
                ("@id", h.Id), ("@credits", h.Credits), ("@resource", h.Resource), ("@enabled", h.Enabled ? 1 : 0),
                ("@per_unit", h.PerUnit is { Count: > 0 } per ? new JsonObject([.. per.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value)))]).ToJsonString() : null));
        }
        foreach (var o in offers)
        {
            connection.Execute(
                """
                INSERT INTO offers (service, action, handler, price, prompt_template, create_qty, expiration, params, enabled)
                VALUES (@service, @action, @handler, @price, @template, @qty, @expiration, @params, @enabled)
                ON CONFLICT (service, action) DO UPDATE SET handler = excluded.handler, price = excluded.price,
                    prompt_template = excluded.prompt_template, create_qty = excluded.create_qty,
                    expiration = excluded.expiration, params = excluded.params, enabled = excluded.enabled
                """,
                ("@service", o.Service), ("@action", o.Action), ("@handler", o.Handler), ("@price", o.Price),
                ("@template", o.Template.Source), ("@qty", o.CreateQty), ("@expiration", o.Expiration),
                ("@params", new Json(o.ParamsJson)), ("@enabled", o.Enabled ? 1 : 0));
        }
        foreach (var d in deals ?? [])
        {
            connection.Execute(
                """
                INSERT INTO deals (name, offers, price, price_modifier, addons, addons_modifier, enabled)
                VALUES (@name, @offers, @price, @price_modifier, @addons, @addons_modifier, @enabled)
                ON CONFLICT (name) DO UPDATE SET offers = excluded.offers, price = excluded.price,
                    price_modifier = excluded.price_modifier, addons = excluded.addons,
                    addons_modifier = excluded.addons_modifier, enabled = excluded.enabled
                """,
                ("@name", d.Name), ("@offers", new Json(CatalogDocument.ToJson(d.Offers).ToJsonString())), ("@price", d.Price),
                ("@price_modifier", d.PriceModifier), ("@addons", new Json(CatalogDocument.ToJson(d.Addons).ToJsonString())),
                ("@addons_modifier", d.AddonsModifier), ("@enabled", d.Enabled ? 1 : 0));
        }
        Meta.Bump(connection, Meta.CatalogVersion);
    }

    /// <summary>The offers ("service/action") that run on handler <paramref name="id"/>.</summary>
    public static IReadOnlyList<string> OffersOf(DbConnection connection, string id)
    {
        var offers = new List<string>();
        using var command = connection.Sql("SELECT service, action FROM offers WHERE handler = @id", ("@id", id));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            offers.Add($"{reader.GetString(0)}/{reader.GetString(1)}");
        }
        return [.. offers.Order(StringComparer.Ordinal)];
    }

    /// <summary>Turns a handler on or off (run it on the writer); false, and nothing bumped, when there is none.</summary>
    public static bool SetHandlerEnabled(DbConnection connection, string id, bool enabled) =>
        Changed(connection, connection.Execute("UPDATE handlers SET enabled = @on WHERE id = @id", ("@on", enabled ? 1 : 0), ("@id", id)));

    /// <summary>Turns an offer on or off (run it on the writer); false, and nothing bumped, when there is none.</summary>
    public static bool SetOfferEnabled(DbConnection connection, string service, string action, bool enabled) =>
        Changed(connection, connection.Execute("UPDATE offers SET enabled = @on WHERE service = @service AND action = @action",
            ("@on", enabled ? 1 : 0), ("@service", service), ("@action", action)));

    /// <summary>Turns a deal on or off (run it on the writer); false, and nothing bumped, when there is none.</summary>
    public static bool SetDealEnabled(DbConnection connection, string name, bool enabled) =>
        Changed(connection, connection.Execute("UPDATE deals SET enabled = @on WHERE name = @name", ("@on", enabled ? 1 : 0), ("@name", name)));

    /// <summary>
    /// Removes a handler (run it on the writer); false, and nothing bumped, when there is none.
    /// The offers' foreign key refuses it while an offer runs on it: check <see cref="OffersOf"/> first.
    /// </summary>
    public static bool DeleteHandler(DbConnection connection, string id) =>
        Changed(connection, connection.Execute("DELETE FROM handlers WHERE id = @id", ("@id", id)));

    /// <summary>
    /// Removes an offer (run it on the writer); false, and nothing bumped, when there is none.
    /// Its past requests stay: they hold their own copy of handler, prompt and params.
    /// </summary>
    public static bool DeleteOffer(DbConnection connection, string service, string action) =>
        Changed(connection, connection.Execute("DELETE FROM offers WHERE service = @service AND action = @action", ("@service", service), ("@action", action)));

    private static bool Changed(DbConnection connection, int rows)
    {
        if (rows == 0)
        {
            return false;
        }
        Meta.Bump(connection, Meta.CatalogVersion);
        return true;
    }

    /// <summary>Removes a deal (run it on the writer); false, and nothing bumped, when there is none by that name.</summary>
    public static bool DeleteDeal(DbConnection connection, string name) =>
        Changed(connection, connection.Execute("DELETE FROM deals WHERE name = @name", ("@name", name)));
}
