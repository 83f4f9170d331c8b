using System.Text.Json;
using Switchboard.Admin;
using Switchboard.Admin.Panel;
using Switchboard.Catalog;
using Switchboard.Config;
using Switchboard.Deals;
using Switchboard.Health;
using Switchboard.Observability;
using Switchboard.OpenApi;
using Switchboard.Requests;
using Switchboard.Webhooks;

namespace Switchboard.Hosting;

/// <summary>
/// Builds a server process: <c>serve</c> (every role), <c>api</c> (HTTP only), <c>executor</c>
/// or <c>recon</c> (no HTTP). The bootstrap config (<c>--config</c>) chooses the store and the
/// queue; without one the process runs on the embedded default.
/// </summary>
public static class ServeHost
{
    /// <summary>Command-line switches and the configuration keys they set.</summary>
    public static readonly Dictionary<string, string> Switches = new()
    {
        ["--data"] = "Switchboard:DataDir",
        ["--workers"] = "Switchboard:Workers",
        ["--handlers"] = "Switchboard:Handlers",
        ["--config"] = "Switchboard:Config",
        ["--metrics-urls"] = MetricsHosting.UrlsKey,
    };

    /// <summary>The bootstrap config the settings name (<c>Switchboard:Config</c>), or the embedded default in <c>Switchboard:DataDir</c>.</summary>
    public static BootstrapConfig Bootstrap(IConfiguration configuration) =>
        BootstrapConfig.Resolve(configuration["Switchboard:Config"], configuration["Switchboard:DataDir"] ?? "./data");

    // Read at registration time: the lease is a constructor argument of a hosted service.
    private static TimeSpan ReconLease(IConfiguration configuration) =>
        TimeSpan.FromSeconds(configuration.GetValue("Switchboard:ReconLeaseSeconds", new SwitchboardOptions().ReconLeaseSeconds));

    /// <summary>The roles without HTTP: a plain host with their hosted services.</summary>
    /// <param name="holdDataFolder">Lock the SQLite store's folder (<see cref="DataFolderHolding"/>): the server commands do, in-memory test hosts do not.</param>
    public static IHost BuildWorker(string[] args, Role role, bool holdDataFolder = false)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Configuration.AddCommandLine(args, Switches);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        builder.Logging.AddSwitchboardLogs(builder.Configuration, role);
        var bootstrap = Bootstrap(builder.Configuration);
        RequireSharedQueue(bootstrap, role);
        builder.Services.AddSwitchboardCore(bootstrap);
        if (holdDataFolder)
        {
            builder.Services.AddDataFolderLock(bootstrap, role, urls: null);
        }
        builder.Services.AddSwitchboardMetrics(builder.Configuration, role);
        // Traces (Observability/Tracing.cs): only when the bootstrap or the OTEL_* variables name an endpoint.
        builder.Services.AddSwitchboardTracing(bootstrap, role);
        if (role == Role.Executor)
        {
            builder.Services.AddExecutor(bootstrap);
        }
        else
        {
            builder.Services.AddRecon(bootstrap, ReconLease(builder.Configuration));
            // Completion webhooks are delivered by any process but executors.
            builder.Services.AddWebhookDelivery();
        }
        // Health (Health/): the handler checks; no HTTP, so no health endpoints.
        builder.Services.AddSwitchboardHealth(bootstrap, role);
        return builder.Build();
    }

    /// <summary>
    /// Roles in separate processes only meet through a shared queue: an executor alone on an
    /// in-process queue would never receive a job.
    /// </summary>
    private static void RequireSharedQueue(BootstrapConfig bootstrap, Role role)
    {
        if (role != Role.Serve && bootstrap.RedisUri is null)
        {
            throw new BootstrapException(
                $"the {role.ToString().ToLowerInvariant()} role runs beside other processes and needs a shared queue: give --config FILE with redis.uri (or run serve)");
        }
    }

    /// <param name="holdDataFolder">Lock the SQLite store's folder (<see cref="DataFolderHolding"/>): the server commands do, in-memory test hosts do not.</param>
    public static WebApplication Build(string[] args, Role role = Role.Serve, bool holdDataFolder = false)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddCommandLine(args, Switches);
        // Per-request framework logs would cost more than the requests; settings may lower these.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        builder.Logging.AddSwitchboardLogs(builder.Configuration, role);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls(SwitchboardOptions.DefaultUrl);
        }
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        // Errors/: problem+json with a stable code for every error, the framework's too.
        builder.Services.AddProblemAnswers();
        var bootstrap = Bootstrap(builder.Configuration);
        RequireSharedQueue(bootstrap, role);
        builder.Services.AddSwitchboardCore(bootstrap);
        if (holdDataFolder)
        {
            builder.Services.AddDataFolderLock(bootstrap, role, builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey));
        }
        builder.Services.AddSwitchboardMetrics(builder.Configuration, role);
        // Traces (Observability/Tracing.cs): only when the bootstrap or the OTEL_* variables name an endpoint.
        builder.Services.AddSwitchboardTracing(bootstrap, role);
        if (role == Role.Serve)
        {
            builder.Services.AddExecutor(bootstrap).AddRecon(bootstrap, ReconLease(builder.Configuration));
            builder.Services.AddHostedService<FirstAdmin>();
        }
        builder.Services.AddAdminPanel();
        builder.Services.AddLiveChannels();
        // Completion webhooks: every HTTP process delivers (serve and api).
        builder.Services.AddWebhookDelivery();
        builder.Services.AddTrustedProxies();
        // Health (Health/): AddHealthChecks with the store, Redis and handler checks; /healthz and /readyz below.
        builder.Services.AddSwitchboardHealth(bootstrap, role);
        // The API's OpenAPI documents and their reference at /docs (OpenApi/OpenApiSetup.cs).
        builder.Services.AddSwitchboardOpenApi();

        var app = builder.Build();
        // First: every later part (login lockout, the panel's cookie) sees the client's address and scheme.
        app.UseTrustedProxies();
        app.UseSwitchboardMetrics();
        // Only endpoints that ask for a policy (the event stream) answer another origin.
        app.UseCors();
        app.UseProblemsForExceptions();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.UseProblemsForStatusCodes();
        app.UseRequestTextChecks();
        app.MapSwitchboardHealth();
        app.MapCatalogEndpoints();
        app.MapDealQuote();
        app.MapRequestEndpoints();
        app.MapAdminApi();
        app.MapAdminPanel();
        // /svc/openapi.json, /admin/api/openapi.json, /docs/ and /docs/problems.
        app.MapSwitchboardDocs();
        return app;
    }
}
