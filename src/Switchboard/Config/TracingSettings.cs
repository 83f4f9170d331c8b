using System.Globalization;
using OpenTelemetry.Exporter;

namespace Switchboard.Config;

/// <summary>
/// Where and how a process exports its traces: the bootstrap config's <c>tracing</c> section
/// (<see cref="Read"/>), else the standard <c>OTEL_*</c> variables (<see cref="FromEnvironment"/>),
/// else none (tracing off). Read once at start; a bad value fails the start naming the key.
/// </summary>
/// <param name="Endpoint">The collector's URL; null when the OTLP exporter reads <c>OTEL_EXPORTER_OTLP_*</c> itself.</param>
/// <param name="SampleRatio">The share of new traces recorded (0 to 1); a caller's sampled trace is always followed.</param>
/// <param name="ServiceName">null: <c>switchboard-ROLE</c> (or <c>OTEL_SERVICE_NAME</c> when set).</param>
public sealed record TracingSettings(Uri? Endpoint, OtlpExportProtocol Protocol, double SampleRatio, string? ServiceName)
{
    public const string Section = "tracing";

    // The standard names the OTLP exporter reads itself (the OpenTelemetry specification's);
    // fixed here, never taken from a setting.
    private const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    private const string TracesEndpointVariable = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
    private const string SamplerVariable = "OTEL_TRACES_SAMPLER";
    private const string SamplerArgVariable = "OTEL_TRACES_SAMPLER_ARG";
    public const string ServiceNameVariable = "OTEL_SERVICE_NAME";

    /// <summary>
    /// The <c>tracing</c> section, or null without one. <c>otlp_endpoint</c> is required
    /// (an absolute http or https URL); <c>otlp_protocol</c> is <c>grpc</c> (the default, port
    /// 4317) or <c>http/protobuf</c> (port 4318, <c>/v1/traces</c> added to a URL without a
    /// path); <c>sample_ratio</c> from 0 to 1 (default 1); <c>service_name</c> optional.
    /// </summary>
    public static TracingSettings? Read(JsonObject document, Func<string, string> fail)
    {
        var node = document[Section];
        if (node is null)
        {
            return null;
        }
        if (node is not JsonObject section)
        {
            fail($"'{Section}' must be a mapping (otlp_endpoint, otlp_protocol, sample_ratio, service_name)");
            return null;
        }
        foreach (var (key, _) in section)
        {
            if (key is not ("otlp_endpoint" or "otlp_protocol" or "sample_ratio" or "service_name"))
            {
                fail($"'{Section}.{key}' is not a tracing setting (otlp_endpoint, otlp_protocol, sample_ratio, service_name)");
            }
        }
        string? Text(string key) => section[key] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonValue v => v.ToJsonString(),
            _ => fail($"'{Section}.{key}' must be a string"),
        };
        var protocol = (Text("otlp_protocol") ?? "grpc") switch
        {
            "grpc" => OtlpExportProtocol.Grpc,
            "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            var other => Refused(fail($"'{Section}.otlp_protocol' is '{other}'; it must be grpc or http/protobuf")),
        };
        var endpointText = Text("otlp_endpoint");
        if (string.IsNullOrWhiteSpace(endpointText))
        {
            fail($"'{Section}.otlp_endpoint' is missing: name the OTLP collector (http://collector:4317), or leave out the section to turn tracing off");
        }
        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https")
            || endpoint.UserInfo.Length > 0)
        {
            // The value itself is not echoed: a URL may carry credentials.
            fail($"'{Section}.otlp_endpoint' must be an absolute http or https URL without user info (http://collector:4317)");
        }
        var ratioText = Text("sample_ratio") ?? "1";
        if (!double.TryParse(ratioText, NumberStyles.Float, CultureInfo.InvariantCulture, out var ratio) || !(ratio is >= 0 and <= 1))
        {
            fail($"'{Section}.sample_ratio' is {ratioText}; it must be a number from 0 to 1");
        }
        var name = Text("service_name");
        if (name is not null && name.Trim().Length == 0)
        {
            fail($"'{Section}.service_name' is empty; name the service or leave the key out");
        }
        return new TracingSettings(WithSignalPath(endpoint!, protocol), protocol, ratio, name);
    }

    // fail throws; this only gives the switch arm its type.
    private static OtlpExportProtocol Refused(string _) => OtlpExportProtocol.Grpc;

    /// <summary>
    /// An endpoint set in code is used as it is; OTLP/HTTP receivers take traces at
    /// <c>/v1/traces</c>, so a bare collector URL gets that path (as the exporter does for the
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> variable).
    /// </summary>
    private static Uri WithSignalPath(Uri endpoint, OtlpExportProtocol protocol) =>
        protocol == OtlpExportProtocol.HttpProtobuf && endpoint.AbsolutePath is "/" or ""
            ? new Uri(endpoint, "/v1/traces")
            : endpoint;

    /// <summary>
    /// Tracing from the standard variables: on when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or
    /// <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c> is set (the exporter reads those, the protocol,
    /// headers and timeouts itself). The sampler is always parent-based; its ratio for new
    /// traces comes from <c>OTEL_TRACES_SAMPLER_ARG</c> when <c>OTEL_TRACES_SAMPLER</c> is a ratio
    /// sampler, 0 when it is <c>always_off</c> or <c>parentbased_always_off</c>.
    /// </summary>
    public static TracingSettings? FromEnvironment(Func<string, string?> environment)
    {
        if (string.IsNullOrWhiteSpace(environment(EndpointVariable)) && string.IsNullOrWhiteSpace(environment(TracesEndpointVariable)))
        {
            return null;
        }
        var ratio = environment(SamplerVariable)?.Trim().ToLowerInvariant() switch
        {
            "always_off" or "parentbased_always_off" => 0,
            "traceidratio" or "parentbased_traceidratio" when double.TryParse(
                environment(SamplerArgVariable), NumberStyles.Float, CultureInfo.InvariantCulture, out var arg) && arg is >= 0 and <= 1 => arg,
            _ => 1.0,
        };
        return new TracingSettings(null, OtlpExportProtocol.Grpc, ratio, null);
    }
}
