using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Switchboard.Catalog;

/// <summary>The public face of the catalog: <c>GET /svc/</c> and <c>GET /svc/openapi.json</c> (no key needed).</summary>
public static class CatalogEndpoints
{
    private static readonly ConditionalWeakTable<CatalogSnapshot, string> OpenApiCache = new();

    public static IEndpointRouteBuilder MapCatalogEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/svc/", (CatalogCache catalog) => TypedResults.Ok(List(catalog.Current)));
        app.MapGet("/svc/openapi.json", (CatalogCache catalog) =>
            TypedResults.Text(OpenApiCache.GetValue(catalog.Current, s => OpenApiDocument.Build(s).ToJsonString()), "application/json"));
        return app;
    }

    public static JsonObject List(CatalogSnapshot catalog)
    {
        var services = new JsonArray();
        foreach (var group in catalog.LiveOffers.GroupBy(o => o.Service).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            services.Add(new JsonObject
            {
                ["name"] = group.Key,
                ["actions"] = new JsonArray([.. group.OrderBy(o => o.Action, StringComparer.Ordinal).Select(o => (JsonNode)new JsonObject
                {
                    ["name"] = o.Action,
                    ["path"] = o.Path,
                    ["inputs"] = new JsonArray([.. o.Template.Variables.Select(v => (JsonNode)v)]),
                    ["price"] = o.Price,
                    ["create_qty"] = o.CreateQty,
                    ["expiration"] = o.Expiration,
                })]),
            });
        }
        return new JsonObject { ["services"] = services };
    }
}
