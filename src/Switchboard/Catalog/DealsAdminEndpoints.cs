using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Switchboard.Errors;
using Switchboard.Storage;

namespace Switchboard.Catalog;

/// <summary>
/// Deals in the admin JSON API (<c>/admin/api</c>, admin keys only): list, read, create or
/// replace, delete. An entry is the one the catalog file holds, checked by the same code
/// (<see cref="CatalogDocument"/>); reads come from the store, so they show a write at once,
/// while the live catalog follows within one poll (the write bumps the catalog version).
/// </summary>
public static partial class DealsAdminEndpoints
{
    /// <summary>A deal is a few lists of offer names; anything longer is not one.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    private static readonly HashSet<string> None = [];

    public static RouteGroupBuilder MapDealsAdmin(this RouteGroupBuilder admin)
    {
        admin.MapGet("/deals", List);
        admin.MapGet("/deals/{name}", Get);
        admin.MapPut("/deals/{name}", Put);
        admin.MapDelete("/deals/{name}", Delete);
        return admin;
    }

    private static IResult List(Store store)
    {
        using var connection = store.Open();
        return TypedResults.Ok(new JsonObject
        {
            ["deals"] = new JsonArray([.. CatalogStore.LoadDeals(connection).Select(d => (JsonNode)CatalogDocument.ToJson(d))]),
        });
    }

    private static IResult Get(string name, Store store)
    {
        using var connection = store.Open();
        return CatalogStore.LoadDeals(connection, name) is [var deal] ? TypedResults.Ok(CatalogDocument.ToJson(deal)) : Problems.UnknownDeal(name);
    }

    private static async Task<IResult> Put(string name, HttpRequest request, Store store)
    {
        if (await ReadObject(request) is not { } body)
        {
            return Problems.Of(400, "invalid_json", "Invalid deal", $"The body must be one deal as a JSON object of at most {MaxBodyBytes} bytes.");
        }
        if (body["name"] is { } given && (given is not JsonValue v || !v.TryGetValue<string>(out var text) || text != name))
        {
            return Invalid(name, [$"name {given.ToJsonString()} does not match the deal's path ('{name}'); leave it out or make it the same"]);
        }
        body["name"] = name;
        HashSet<string> offers;
        using (var connection = store.Open())
        {
            // Offers are never deleted, so one that exists now still exists when the deal is written.
            offers = [.. CatalogStore.Load(connection).Offers.Select(o => $"{o.Service}/{o.Action}")];
        }
        var parsed = CatalogDocument.Parse(new JsonObject { ["deals"] = new JsonArray(body) }, None, None, offers);
        if (parsed.Errors.Count > 0)
        {
            return Invalid(name, parsed.Errors);
        }
        var stored = await store.WriteAsync(c =>
        {
            CatalogStore.Upsert(c, [], [], parsed.Deals);
            return CatalogStore.LoadDeals(c, name).Single();
        });
        return TypedResults.Ok(CatalogDocument.ToJson(stored));
    }

    private static async Task<IResult> Delete(string name, Store store) =>
        await store.WriteAsync(c => CatalogStore.DeleteDeal(c, name)) ? TypedResults.NoContent() : Problems.UnknownDeal(name);

    /// <summary>The body as a JSON object, or null when it is not one (or is larger than <see cref="MaxBodyBytes"/>).</summary>
    private static async Task<JsonObject?> ReadObject(HttpRequest request)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        try
        {
            var body = JsonNode.Parse(buffer.ToArray()) as JsonObject;
            // Reading the properties once here makes a duplicate name fail now, as malformed JSON.
            _ = body?.Count;
            return body;
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The file's "deals[0] (name): " prefix says nothing here: there is one deal, the one at the path.</summary>
    [GeneratedRegex(@"^deals\[0\](?: \([^)]*\))?: ")]
    private static partial Regex Place();

    private static IResult Invalid(string name, IEnumerable<string> errors)
    {
        var list = errors.Select(e => Place().Replace(e, "")).ToList();
        return Problems.Of(400, "invalid_deal", "Invalid deal", $"Deal '{name}': {string.Join("; ", list)}",
            new Dictionary<string, object?> { ["errors"] = list });
    }
}
