using System.Text.Json.Nodes;
using Switchboard.Errors;
using Switchboard.Storage;

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
        admin.MapGet("/deals", List)
            .WithName("list_deals").WithTags("deals").WithSummary("The stored deals")
            .Produces<JsonObject>(200);
        admin.MapGet("/deals/{name}", Get)
            .WithName("get_deal").WithTags("deals").WithSummary("A deal")
            .Produces<JsonObject>(200).ProducesProblem(404);
        admin.MapPut("/deals/{name}", Put)
            .WithName("put_deal").WithTags("deals").WithSummary("Create or replace a deal")
            .Produces<JsonObject>(200).ProducesProblem(400);
        admin.MapDelete("/deals/{name}", Delete)
            .WithName("delete_deal").WithTags("deals").WithSummary("Delete a deal")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(404);
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
