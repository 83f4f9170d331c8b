using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Switchboard.OpenApi;

/// <summary>
/// The API explorer drops a route's trailing slash (<c>/svc/request/{id}/</c> becomes
/// <c>/svc/request/{id}</c>); the documents show the routes as they are mapped and as the
/// README and the catalog write them. (Routing takes both forms.)
/// </summary>
internal sealed class TrailingSlashes(EndpointDataSource endpoints) : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        var slashed = endpoints.Endpoints.OfType<RouteEndpoint>()
            .Select(e => "/" + (e.RoutePattern.RawText ?? "").TrimStart('/'))
            .Where(p => p.Length > 1 && p.EndsWith('/'))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var path in document.Paths.Keys.ToList())
        {
            if (slashed.Contains(path + "/"))
            {
                document.Paths.Remove(path, out var item);
                document.Paths[path + "/"] = item!;
            }
        }
        return Task.CompletedTask;
    }
}
