using System.Text.Json.Nodes;
using System.Data.Common;
using Switchboard.Storage;

namespace Switchboard.Catalog;

/// <summary>Reads and upserts handlers and offers in the store.</summary>
public static class CatalogStore
{
    public static CatalogSnapshot Load(DbConnection connection)
    {
        var handlers = new Dictionary<string, HandlerEntry>(StringComparer.Ordinal);
        using (var command = connection.Sql("SELECT id, credits, resource, enabled FROM handlers ORDER BY id"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var entry = new HandlerEntry(reader.GetString(0), reader.GetInt32(1), reader.StringOrNull(2), reader.GetInt64(3) != 0);
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
        return new CatalogSnapshot(handlers, offers);
    }

    /// <summary>Upserts every entry in one transaction (run it on the writer); entries not named are left alone.</summary>
    public static void Upsert(DbConnection connection, IEnumerable<HandlerEntry> handlers, IEnumerable<OfferEntry> offers)
    {
        foreach (var h in handlers)
        {
            connection.Execute(
                """
                INSERT INTO handlers (id, credits, resource, enabled) VALUES (@id, @credits, @resource, @enabled)
                ON CONFLICT (id) DO UPDATE SET credits = excluded.credits, resource = excluded.resource, enabled = excluded.enabled
                """,
                ("@id", h.Id), ("@credits", h.Credits), ("@resource", h.Resource), ("@enabled", h.Enabled ? 1 : 0));
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
        Meta.Bump(connection, Meta.CatalogVersion);
    }
}
