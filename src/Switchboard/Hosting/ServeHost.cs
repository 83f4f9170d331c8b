using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Switchboard.Catalog;
using Switchboard.Errors;
using Switchboard.Requests;

namespace Switchboard.Hosting;

/// <summary>Builds the <c>serve</c> process: api + executor + recon on the embedded default.</summary>
public static class ServeHost
{
    public const string DefaultUrl = "http://127.0.0.1:8080";

    /// <summary>Command-line switches and the configuration keys they set.</summary>
    public static readonly Dictionary<string, string> Switches = new()
    {
        ["--data"] = "Switchboard:DataDir",
        ["--workers"] = "Switchboard:Workers",
    };

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddCommandLine(args, Switches);
        // Per-request framework logs would cost more than the requests; settings may lower these.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
            c.ProblemDetails.Extensions.TryAdd("code", c.ProblemDetails.Status switch
            {
                500 => "internal_error",
                413 => "body_too_large",
                int status => "http_" + status,
                null => "internal_error",
            }));
        builder.Services.AddSwitchboardCore().AddExecutor().AddRecon();

        var app = builder.Build();
        app.UseExceptionHandler(new ExceptionHandlerOptions { StatusCodeSelector = StatusFor });
        app.UseStatusCodePages(async context =>
        {
            var status = context.HttpContext.Response.StatusCode;
            var (code, title) = status switch
            {
                404 => ("not_found", "No such endpoint"),
                405 => ("method_not_allowed", "Method not allowed on this endpoint"),
                _ => ("http_" + status, "HTTP " + status),
            };
            await Problems.Of(status, code, title).ExecuteAsync(context.HttpContext);
        });
        app.MapHealthEndpoints();
        app.MapCatalogEndpoints();
        app.MapRequestEndpoints();
        return app;
    }

    /// <summary>Malformed HTTP (bad framing, too large) is the client's error, never a 500.</summary>
    private static int StatusFor(Exception ex) => ex switch
    {
        BadHttpRequestException bad => bad.StatusCode,
        _ => StatusCodes.Status500InternalServerError,
    };
}
