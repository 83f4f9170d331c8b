using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.OpenApi;
using Scalar.AspNetCore;
using Switchboard.Catalog;
using Switchboard.Users;

namespace Switchboard.OpenApi;

/// <summary>
/// The HTTP API described by Microsoft.AspNetCore.OpenApi from the endpoints themselves: the
/// client API (<c>/svc/...</c>, document <c>svc</c>, with the live catalog's offers and deals
/// added per request by <see cref="CatalogPathsTransformer"/>) and the admin API
/// (<c>/admin/api/...</c>, document <c>admin</c>); both OpenAPI 3.1, read by the interactive
/// reference at <c>/docs</c> (Scalar, served from the binary) next to the page of problem codes.
/// </summary>
public static class OpenApiSetup
{
    // Each document's name and where it is served (the client document's URL predates this setup: clients use it).
    private static readonly (string Name, string Url) Svc = ("svc", "/svc/openapi.json"), Admin = ("admin", "/admin/api/openapi.json");

    public static IServiceCollection AddSwitchboardOpenApi(this IServiceCollection services)
    {
        services.AddOutputCache();
        services.AddOpenApi(Svc.Name, o =>
        {
            o.ShouldInclude = d => d.RelativePath?.StartsWith("svc/", StringComparison.Ordinal) == true;
            o.AddDocumentTransformer((document, _, _) => Describe(document, "Switchboard client API",
                "Buy generative-AI actions: submit an offer or a deal (202 and a request to poll), read, follow or cancel it. "
                + "The catalog's offers and deals appear as paths of their own."));
            AddCommon(o);
            o.AddDocumentTransformer<CatalogPathsTransformer>();
        });
        services.AddOpenApi(Admin.Name, o =>
        {
            o.ShouldInclude = d => d.RelativePath?.StartsWith("admin/api/", StringComparison.Ordinal) == true;
            o.AddDocumentTransformer((document, _, _) => Describe(document, "Switchboard admin API",
                "Admins' API: users, keys, credits, catalog, deals, configs, requests, usage, health and audit. Every call needs the API key of an admin user."));
            AddCommon(o);
        });
        return services;
    }

    private static void AddCommon(OpenApiOptions o)
    {
        o.AddDocumentTransformer<TrailingSlashes>();
        o.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[ApiKeyOpenApi.BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A user's API key: `Authorization: Bearer <key>`.",
            };
            return Task.CompletedTask;
        });
        o.AddSchemaTransformer(ProblemSchema.NumbersAreNumbers);
        o.AddSchemaTransformer(ProblemSchema.AddCode);
    }

    private static Task Describe(OpenApiDocument document, string title, string description)
    {
        document.Info = new OpenApiInfo { Title = title, Version = "1", Description = description };
        // The framework names the origin the document was asked on, with a trailing slash
        // that would double the paths' own.
        foreach (var server in document.Servers ?? [])
        {
            server.Url = server.Url?.TrimEnd('/');
        }
        return Task.CompletedTask;
    }

    private static void PerCatalog(OutputCachePolicyBuilder policy) => policy
        .Expire(TimeSpan.FromMinutes(1))
        // Snapshots are swapped whole, never changed: the instance names the catalog.
        .VaryByValue(http => new("catalog", RuntimeHelpers.GetHashCode(http.RequestServices.GetRequiredService<CatalogCache>().Current).ToString(CultureInfo.InvariantCulture)));

    /// <summary>
    /// Serves both documents, the reference at <c>/docs/</c> and the problem codes at
    /// <c>/docs/problems</c>. Every path is public: the documents describe routes and shapes,
    /// never data, and each route they list still checks its key (docs/security.md).
    /// </summary>
    public static WebApplication MapSwitchboardDocs(this WebApplication app)
    {
        // The framework builds a document on every request (tens of milliseconds); these URLs
        // are public, so an answer is kept per catalog snapshot (the client document follows the
        // catalog) for a minute at most. Only endpoints that ask for it are cached.
        app.UseOutputCache();
        // MapOpenApi takes the document's name from the route: each URL admits only its own name.
        app.MapOpenApi("/{documentName:regex(^svc$)}/openapi.json").CacheOutput(PerCatalog);
        app.MapOpenApi("/{documentName:regex(^admin$)}/api/openapi.json").CacheOutput(PerCatalog);
        app.UseDocsHeaders();
        app.MapScalarApiReference("/docs", o => o
            .WithTitle("Switchboard API")
            // A few dozen operations: all of them in view at once.
            .ExpandAllTags()
            .AddDocument(Svc.Name, "Client API", Svc.Url, isDefault: true)
            .AddDocument(Admin.Name, "Admin API", Admin.Url)
            // Offline: the script is the one bundled in Scalar.AspNetCore (its default), and
            // nothing else is fetched from elsewhere: no web fonts, telemetry, agent or MCP.
            .DisableDefaultFonts()
            .DisableTelemetry()
            .DisableAgent()
            .DisableMcp()
            // Its bar links to the vendor's hosted services (share, SDKs, deploy): not this API's.
            .HideDeveloperTools()
            .WithNonce()
            .AddPreferredSecuritySchemes(ApiKeyOpenApi.BearerScheme)
            .AddHttpAuthentication(ApiKeyOpenApi.BearerScheme, _ => { }));
        app.MapProblemsPage();
        return app;
    }
}
