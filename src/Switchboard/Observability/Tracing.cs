using System.Diagnostics;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Switchboard.Config;

namespace Switchboard.Observability;

/// <summary>
/// Traces (OpenTelemetry, OTLP export): one <see cref="ActivitySource"/> for Switchboard's own
/// spans, and the SDK with the ASP.NET Core, HttpClient and Npgsql instrumentations registered
/// only when tracing is configured (<see cref="TracingSettings"/>). Off, no listener exists:
/// <see cref="Source"/>'s <c>StartActivity</c> returns null and nothing is recorded or stored.
/// A request's trace crosses processes through the store: the submit's W3C
/// <c>traceparent</c> is written on its row (<see cref="SubmitParent"/>), and the executor that
/// claims the row starts its spans as that context's children (Execution/JobTrace.cs).
/// </summary>
public static class Tracing
{
    /// <summary>The request id's attribute on the POST span and on the executor's spans.</summary>
    public const string RequestIdTag = "switchboard.request_id";

    public const string SourceName = "Switchboard";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Whether this process records Switchboard's spans (a tracer provider listens).</summary>
    public static bool Enabled => Source.HasListeners();

    public static IServiceCollection AddSwitchboardTracing(this IServiceCollection services, BootstrapConfig bootstrap, Role role)
    {
        var settings = bootstrap.Tracing ?? TracingSettings.FromEnvironment(Environment.GetEnvironmentVariable);
        if (settings is null)
        {
            return services;
        }
        var roleName = role.ToString().ToLowerInvariant();
        var serviceName = settings.ServiceName
            ?? (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(TracingSettings.ServiceNameVariable)) ? $"switchboard-{roleName}" : null);
        services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                if (serviceName is not null)
                {
                    // The host and process, as in the executor's owner name (Execution/JobRunner.cs): one process's spans.
                    resource.AddService(serviceName, serviceInstanceId: $"{Environment.MachineName}:{Environment.ProcessId}");
                }
                resource.AddAttributes([new("switchboard.role", roleName)]);
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource(SourceName)
                    .SetSampler(new ParentBasedSampler(new NewTraceSampler(settings.SampleRatio)))
                    .AddHttpClientInstrumentation()
                    .AddNpgsql();
                if (role is Role.Serve or Role.Api)
                {
                    // Probes every few seconds would be most of the traces and tell nothing.
                    tracing.AddAspNetCoreInstrumentation(o => o.Filter = http =>
                        !http.Request.Path.StartsWithSegments("/healthz") && !http.Request.Path.StartsWithSegments("/readyz")
                        && !http.Request.Path.StartsWithSegments("/metrics"));
                }
                tracing.AddOtlpExporter(otlp =>
                {
                    if (settings.Endpoint is { } endpoint)
                    {
                        otlp.Endpoint = endpoint;
                        otlp.Protocol = settings.Protocol;
                    }
                });
            });
        return services;
    }

    /// <summary>
    /// The W3C <c>traceparent</c> of the submit's span, to store with the request; null when
    /// tracing is off here or the span is not sampled (nothing would join it). Tags the span
    /// with the request it created, so the api's POST span names it too.
    /// </summary>
    public static string? SubmitParent(string requestId, string? service = null, string? action = null)
    {
        if (!Enabled || Activity.Current is not { Recorded: true, IdFormat: ActivityIdFormat.W3C } current)
        {
            return null;
        }
        current.SetTag(RequestIdTag, requestId);
        if (service is not null)
        {
            current.SetTag("switchboard.service", service);
            current.SetTag("switchboard.action", action);
        }
        return current.Id;
    }

    /// <summary>
    /// New traces (no parent) at the configured ratio, except client spans: a SQL statement or
    /// an HTTP call outside any request (a poll, a lease renewal, a webhook delivery) would each
    /// be a trace of one span, most of the export and no help. Inside a trace they are recorded
    /// as its children (the parent-based sampler around this one decides those).
    /// </summary>
    private sealed class NewTraceSampler(double ratio) : Sampler
    {
        private readonly TraceIdRatioBasedSampler _ratio = new(ratio);

        public override SamplingResult ShouldSample(in SamplingParameters parameters) =>
            parameters.Kind == ActivityKind.Client ? new SamplingResult(SamplingDecision.Drop) : _ratio.ShouldSample(parameters);
    }
}
