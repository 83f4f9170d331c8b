namespace Switchboard.Catalog;

/// <summary>
/// Deals in the admin JSON API (<c>/admin/api</c>, admin keys only): list, read, create or
/// replace, delete. An entry is the one the catalog file holds, saved through
/// <see cref="CatalogEdits"/> (checked by <see cref="CatalogDocument"/> against the offers read
/// in the same write unit); reads come from the store, so they show a write at once, while the
/// live catalog follows within one poll (the write bumps the catalog version).
/// </summary>
public static class DealsAdminEndpoints
{
    public static RouteGroupBuilder MapDealsAdmin(this RouteGroupBuilder admin)
    {
        admin.MapGet("/deals", List).Describe("deals", "list_deals", "The stored deals").AnswersJson(200);
        admin.MapGet("/deals/{name}", Get).Describe("deals", "get_deal", "A deal").AnswersJson(200, 404);
        admin.MapPut("/deals/{name}", Put).Describe("deals", "put_deal", "Create or replace a deal").AnswersJson(200, 400);
        admin.MapDelete("/deals/{name}", Delete).Describe("deals", "delete_deal", "Delete a deal").AnswersNoContent(404);
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
        if (await AdminJson.ReadObject(request, CatalogAdminEndpoints.MaxBodyBytes) is not { } body)
        {
            return CatalogAdminEndpoints.InvalidJson("deal");
        }
        var edit = await CatalogEdits.SaveDeal(store, name, body);
        return edit.Entry is { } saved
            ? TypedResults.Ok(CatalogDocument.ToJson(saved))
            : CatalogAdminEndpoints.Invalid("invalid_deal", "Invalid deal", $"Deal '{name}'", edit.Errors);
    }

    private static async Task<IResult> Delete(string name, Store store) =>
        (await CatalogEdits.DeleteDeal(store, name)).Deleted ? TypedResults.NoContent() : Problems.UnknownDeal(name);
}
