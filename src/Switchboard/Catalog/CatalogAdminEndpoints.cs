using System.Text.Json;
using Switchboard.Handlers;

namespace Switchboard.Catalog;

/// <summary>
/// Handlers and offers in the admin JSON API (<c>/admin/api</c>, admin keys only): list, read,
/// create or replace (PUT; <c>enabled: false</c> disables), delete. A body is the entry the
/// catalog file holds, saved through <see cref="CatalogEdits"/> (the rules of <c>catalog apply</c>);
/// a delete refuses while the entry is used (409), naming what uses it.
/// </summary>
public static class CatalogAdminEndpoints
{
    /// <summary>One catalog entry; prompt templates are the long part, and none is this long.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    public static RouteGroupBuilder MapCatalogAdmin(this RouteGroupBuilder admin)
    {
        admin.MapGet("/handlers", ListHandlers).Describe("catalog", "list_handlers", "The stored handlers").AnswersJson(200);
        admin.MapGet("/handlers/{id}", GetHandler).Describe("catalog", "get_handler", "A handler").AnswersJson(200, 404);
        admin.MapPut("/handlers/{id}", PutHandler).Describe("catalog", "put_handler", "Create or replace a handler").AnswersJson(200, 400);
        admin.MapDelete("/handlers/{id}", DeleteHandler)
            .Describe("catalog", "delete_handler", "Delete a handler no offer uses").AnswersNoContent(404, 409);
        admin.MapGet("/offers", ListOffers).Describe("catalog", "list_offers", "The stored offers").AnswersJson(200);
        admin.MapGet("/offers/{service}/{action}", GetOffer).Describe("catalog", "get_offer", "An offer").AnswersJson(200, 404);
        admin.MapPut("/offers/{service}/{action}", PutOffer).Describe("catalog", "put_offer", "Create or replace an offer").AnswersJson(200, 400);
        admin.MapDelete("/offers/{service}/{action}", DeleteOffer)
            .Describe("catalog", "delete_offer", "Delete an offer no deal uses").AnswersNoContent(404, 409);
        admin.MapDealsAdmin();
        return admin;
    }

    private static IResult ListHandlers(Store store) =>
        TypedResults.Ok(new JsonObject { ["handlers"] = new JsonArray([.. CatalogStore.Load(store).Handlers.Values.Select(h => (JsonNode)CatalogDocument.ToJson(h))]) });

    private static IResult GetHandler(string id, Store store) =>
        CatalogStore.Load(store).Handlers.GetValueOrDefault(id) is { } h ? TypedResults.Ok(CatalogDocument.ToJson(h)) : UnknownHandler(id);

    private static async Task<IResult> PutHandler(string id, HttpRequest request, Store store, HandlerRegistry handlers)
    {
        if (await AdminJson.ReadObject(request, MaxBodyBytes) is not { } body)
        {
            return InvalidJson("handler");
        }
        var edit = await CatalogEdits.SaveHandler(store, handlers.Ids, id, body);
        return edit.Entry is { } saved ? TypedResults.Ok(CatalogDocument.ToJson(saved)) : Invalid("invalid_handler", "Invalid handler", $"Handler '{id}'", edit.Errors);
    }

    private static async Task<IResult> DeleteHandler(string id, Store store)
    {
        var done = await CatalogEdits.DeleteHandler(store, id);
        return done.Deleted ? TypedResults.NoContent()
            : !done.Found ? UnknownHandler(id)
            : Problems.Of(409, "handler_in_use", "The handler is in use",
                $"Offers run on handler '{id}': {string.Join(", ", done.UsedBy)}. Delete them or move them to another handler first.",
                new Dictionary<string, object?> { ["offers"] = done.UsedBy });
    }

    private static IResult ListOffers(Store store) =>
        TypedResults.Ok(new JsonObject { ["offers"] = new JsonArray([.. CatalogStore.Load(store).Offers.Select(o => (JsonNode)CatalogDocument.ToJson(o))]) });

    private static IResult GetOffer(string service, string action, Store store) =>
        CatalogStore.Load(store).FindOffer(service, action) is { } o ? TypedResults.Ok(CatalogDocument.ToJson(o)) : UnknownOffer(service, action);

    private static async Task<IResult> PutOffer(string service, string action, HttpRequest request, Store store, HandlerRegistry handlers)
    {
        if (await AdminJson.ReadObject(request, MaxBodyBytes) is not { } body)
        {
            return InvalidJson("offer");
        }
        var edit = await CatalogEdits.SaveOffer(store, handlers.Ids, service, action, body, handlers.CheckParams);
        return edit.Entry is { } saved ? TypedResults.Ok(CatalogDocument.ToJson(saved)) : Invalid("invalid_offer", "Invalid offer", $"Offer '{service}/{action}'", edit.Errors);
    }

    private static async Task<IResult> DeleteOffer(string service, string action, Store store)
    {
        var done = await CatalogEdits.DeleteOffer(store, service, action);
        return done.Deleted ? TypedResults.NoContent()
            : !done.Found ? UnknownOffer(service, action)
            : Problems.Of(409, "offer_in_use", "The offer is in use",
                $"Deals name offer '{service}/{action}': {string.Join(", ", done.UsedBy)}. Take it out of them first.",
                new Dictionary<string, object?> { ["deals"] = done.UsedBy });
    }

    private static IResult UnknownHandler(string id) =>
        Problems.Of(404, "unknown_handler", "No such handler", $"There is no handler '{id}'.");

    private static IResult UnknownOffer(string service, string action) =>
        Problems.Of(404, "unknown_offer", "No such offer", $"There is no offer '{service}/{action}'.");

    internal static IResult InvalidJson(string what) =>
        Problems.Of(400, "invalid_json", $"Invalid {what}", $"The body must be one {what} as a JSON object of at most {MaxBodyBytes} bytes.");

    internal static IResult Invalid(string code, string title, string subject, IReadOnlyList<string> errors) =>
        Problems.Of(400, code, title, $"{subject}: {string.Join("; ", errors)}", new Dictionary<string, object?> { ["errors"] = errors });
}
