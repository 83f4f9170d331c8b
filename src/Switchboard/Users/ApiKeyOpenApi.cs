using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Switchboard.Users;

/// <summary>
/// How the OpenAPI documents show the API key (<see cref="ApiKeyAuth"/>): the bearer scheme, and
/// per endpoint whether it needs one. Beside the key check rather than in <c>OpenApi/</c>, so
/// that every feature marks its endpoints without depending on the documents, which list them all.
/// </summary>
public static class ApiKeyOpenApi
{
    public const string BearerScheme = "bearer";

    /// <summary>
    /// The endpoints of a group need an API key (the group's filter checks it): their operations
    /// say so with the bearer scheme.
    /// </summary>
    public static TBuilder RequiresApiKeyInOpenApi<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddOpenApiOperationTransformer((operation, context, _) =>
        {
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] }];
            return Task.CompletedTask;
        });

    /// <summary>An endpoint that needs no API key says so (an empty security list).</summary>
    public static TBuilder IsPublicInOpenApi<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Security = [];
            return Task.CompletedTask;
        });
}
