using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Prometheus;
using Switchboard.Config;

namespace Switchboard.Observability;

/// <summary>
/// How each role exports its metrics (Prometheus text at <c>/metrics</c>): any role on a
/// listener of its own with <c>--metrics-urls</c> (the only way for executor and recon, which
/// have no other HTTP); the HTTP roles (serve, api) on their main URL only when the operator
/// sets a bearer token for it (<see cref="BearerTokenKey"/> or <see cref="BearerTokenFileKey"/>),
/// since the main URL is the public one and the metrics show revenue, credits and queue depth.
/// Without either, nothing serves <c>/metrics</c> (404). No address check: behind a local
/// reverse proxy every client would look local.
/// </summary>
public static class MetricsHosting
{
    /// <summary>The configuration key <c>--metrics-urls</c> sets.</summary>
    public const string UrlsKey = "Switchboard:MetricsUrls";

    /// <summary>The token scrapers of the main URL's <c>/metrics</c> send as <c>Authorization: Bearer</c>.</summary>
    public const string BearerTokenKey = "Switchboard:MetricsBearerToken";

    /// <summary>A file holding that token (its first line), for secrets mounted as files.</summary>
    public const string BearerTokenFileKey = "Switchboard:MetricsBearerTokenFile";

    /// <summary>Shorter tokens are refused at start: the token is all that guards the main URL's metrics.</summary>
    public const int MinTokenLength = 16;

    public static IServiceCollection AddSwitchboardMetrics(this IServiceCollection services, IConfiguration configuration, Role role)
    {
        ConfigureDefaults.Value.ToString();
        // Metrics without labels (jobs in flight, live executors) are exported from the start, at 0.
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(SwitchboardMetrics).TypeHandle);
        // Read now, not at the first scrape: a bad URL fails the start with a message naming the switch.
        if (ListenUrls(configuration) is { } urls)
        {
            services.AddHostedService(sp => new MetricsListener(urls, sp.GetRequiredService<ILogger<MetricsListener>>()));
        }
        BearerToken(configuration);
        return services;
    }

    public static WebApplication UseSwitchboardMetrics(this WebApplication app)
    {
        // WebApplication runs routing before any middleware added here, so the endpoint is
        // known: requests are labelled with its route pattern (/svc/request/{id}/), never the
        // raw path, so request ids and client-chosen names never become label values.
        // prometheus-net also labels requests with the route values "controller" and "action" (MVC's
        // names), and our routes call a client-chosen segment "action" (/svc/{service}/{action}/,
        // the offers' admin routes): any text a client sends, even unauthenticated, would become a
        // label value, growing series (memory, /metrics) without bound. Those values are held back
        // while prometheus-net copies the route data (the first thing UseHttpMetrics does) and put
        // back before the endpoint binds them.
        app.Use((context, next) =>
        {
            var values = context.Request.RouteValues;
            foreach (var name in MvcRouteValues)
            {
                if (values.Remove(name, out var value))
                {
                    context.Items[HeldRouteValue + name] = value;
                }
            }
            return next(context);
        });
        app.UseHttpMetrics(options =>
        {
            options.CaptureMetricsUrl = false;
        });
        app.Use((context, next) =>
        {
            foreach (var name in MvcRouteValues)
            {
                if (context.Items.Remove(HeldRouteValue + name, out var value))
                {
                    context.Request.RouteValues[name] = value;
                }
            }
            return next(context);
        });
        if (BearerToken(app.Configuration) is { } token)
        {
            app.Use(async (context, next) =>
            {
                if (context.GetEndpoint()?.Metadata.GetMetadata<BearerTokenRequired>() is null || HasToken(context, token))
                {
                    await next(context);
                    return;
                }
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await Errors.Problems.Of(StatusCodes.Status401Unauthorized, "metrics_token_required", "A metrics bearer token is required",
                    "Send the operator's metrics token as 'Authorization: Bearer <token>'.").ExecuteAsync(context);
            });
            app.MapMetrics().WithMetadata(new BearerTokenRequired());
            app.Logger.LogInformation("Metrics on the main URL at /metrics, for scrapers with the metrics bearer token");
        }
        return app;
    }

    private static readonly string[] MvcRouteValues = ["action", "controller"];
    private const string HeldRouteValue = "switchboard.metrics.held.";

    /// <summary>Marks the main URL's <c>/metrics</c> endpoint, the one the token guards.</summary>
    private sealed class BearerTokenRequired;

    /// <summary>
    /// Compares SHA-256 digests in constant time, so neither the token's bytes nor its length
    /// show in how long a wrong guess takes.
    /// </summary>
    private static bool HasToken(HttpContext context, byte[] tokenDigest)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(header[7..].Trim()));
        return CryptographicOperations.FixedTimeEquals(given, tokenDigest);
    }

    /// <summary>
    /// The SHA-256 digest of the main URL's metrics token, or null when none is set (the main
    /// URL then does not serve <c>/metrics</c>). Errors name the setting, never the value.
    /// </summary>
    public static byte[]? BearerToken(IConfiguration configuration)
    {
        var inline = configuration[BearerTokenKey];
        var file = configuration[BearerTokenFileKey];
        if (!string.IsNullOrEmpty(inline) && !string.IsNullOrEmpty(file))
        {
            throw new BootstrapException($"{BearerTokenKey} and {BearerTokenFileKey} are both set: give one");
        }
        string token;
        if (!string.IsNullOrEmpty(file))
        {
            try
            {
                token = (File.ReadLines(file).FirstOrDefault() ?? "").Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new BootstrapException($"{BearerTokenFileKey}: cannot read the token file: {ex.GetType().Name}");
            }
        }
        else if (string.IsNullOrWhiteSpace(inline))
        {
            return null;
        }
        else
        {
            token = inline.Trim();
        }
        if (token.Length < MinTokenLength || token.Any(char.IsControl))
        {
            var setting = string.IsNullOrEmpty(file) ? BearerTokenKey : BearerTokenFileKey;
            throw new BootstrapException($"the metrics bearer token ({setting}) must be at least {MinTokenLength} characters, without control characters");
        }
        return SHA256.HashData(Encoding.UTF8.GetBytes(token));
    }

    /// <summary>The .NET meters exported beside Switchboard's own metrics.</summary>
    public static readonly IReadOnlySet<string> ExportedMeters = new HashSet<string>(StringComparer.Ordinal) { "System.Runtime" };

    /// <summary>
    /// prometheus-net's defaults are process-wide, so they are set once per process. Its meter
    /// adapter would export every .NET meter under a name made of the meter's and the
    /// instrument's (switchboard_usage_switchboard_handler_calls) and counters as gauges; only
    /// the runtime's meter is kept (GC, thread pool, exceptions). The usage meter's numbers are
    /// Switchboard's own counters (switchboard_integration_credits_total, ...), and the HTTP
    /// ones come from the middleware. The process metrics (process_*, dotnet_*) stay;
    /// prometheus-net's own debug metrics go.
    /// </summary>
    private static readonly Lazy<bool> ConfigureDefaults = new(() =>
    {
        Metrics.ConfigureMeterAdapter(o => o.InstrumentFilterPredicate = instrument => ExportedMeters.Contains(instrument.Meter.Name));
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressDebugMetrics = true, SuppressEventCounters = true });
        return true;
    });

    /// <summary>The listener's URLs (<c>;</c>-separated, like <c>--urls</c>), or null when none is set.</summary>
    public static IReadOnlyList<string>? ListenUrls(IConfiguration configuration)
    {
        var value = configuration[UrlsKey];
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        var urls = value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var url in urls)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp
                || string.IsNullOrEmpty(uri.Host) || uri.IsDefaultPort || uri.AbsolutePath != "/" || uri.Query.Length > 0)
            {
                throw new BootstrapException(
                    $"--metrics-urls: '{url}' is not a listen URL; give http://HOST:PORT (for example http://127.0.0.1:9101), several separated by ';'");
            }
            Probe(uri);
        }
        return urls;
    }

    /// <summary>
    /// Binds the address for a moment, so that a port in use fails the start here with one
    /// line, not later inside the host's start with a stack trace. (Another process may still
    /// take the port in between: the listener's start then fails the host.)
    /// </summary>
    private static void Probe(Uri uri)
    {
        var address = uri.IsLoopback && uri.HostNameType == UriHostNameType.Dns ? IPAddress.Loopback
            : IPAddress.TryParse(uri.Host.Trim('[', ']'), out var parsed) ? parsed
            : null;
        if (address is null)
        {
            return; // A host name: Kestrel resolves it at start.
        }
        try
        {
            var listener = new TcpListener(address, uri.Port);
            listener.Start();
            listener.Stop();
        }
        catch (SocketException ex)
        {
            throw new BootstrapException($"--metrics-urls: cannot listen on {uri.GetLeftPart(UriPartial.Authority)}: {ex.Message}");
        }
    }
}

/// <summary>A small Kestrel server of its own that answers <c>GET /metrics</c> and nothing else.</summary>
public sealed class MetricsListener(IReadOnlyList<string> urls, ILogger<MetricsListener> logger) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls([.. urls]);
        var app = builder.Build();
        app.UseMetricServer("/metrics");
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            await app.DisposeAsync();
            // An ArgumentException: the command line prints its message, not a stack trace.
            throw new BootstrapException($"--metrics-urls: cannot listen on {string.Join(", ", urls)}: {ex.Message}");
        }
        _app = app;
        logger.LogInformation("Metrics on {Urls}", string.Join(", ", urls.Select(u => u.TrimEnd('/') + "/metrics")));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
