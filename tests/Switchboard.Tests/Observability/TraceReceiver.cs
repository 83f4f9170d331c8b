using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Switchboard.Tests.Observability;

/// <summary>One span as an OTLP receiver got it, with its process's resource (service name and instance).</summary>
public sealed record ReceivedSpan(
    string TraceId, string SpanId, string ParentSpanId, string Name, int Kind, string Scope, string Service, string Instance,
    IReadOnlyDictionary<string, string> Attributes)
{
    public string? Attribute(string key) => Attributes.GetValueOrDefault(key);
}

/// <summary>
/// An OTLP/HTTP trace receiver of the test's own on 127.0.0.1 (no collector is packaged here):
/// Kestrel taking <c>POST /v1/traces</c> with a protobuf <c>ExportTraceServiceRequest</c>, read
/// with Google.Protobuf's wire reader (the OTLP message types are not served as a package) as
/// far as the tests need: resource attributes, and each span's ids, name, kind, scope and
/// attributes (opentelemetry-proto's trace.proto and common.proto give the field numbers).
/// </summary>
public sealed class TraceReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();

    private TraceReceiver(WebApplication app) => _app = app;

    /// <summary>The base URL (<c>http://127.0.0.1:PORT</c>), as <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or <c>tracing.otlp_endpoint</c> take it.</summary>
    public string Address { get; private set; } = "";

    public IReadOnlyCollection<ReceivedSpan> Spans => _spans;

    /// <summary>Export requests that could not be read (a test asserts none).</summary>
    public int Unreadable { get; private set; }

    public static async Task<TraceReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new TraceReceiver(app);
        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            try
            {
                foreach (var span in ReadExport(body.ToArray()))
                {
                    receiver._spans.Enqueue(span);
                }
            }
            catch (InvalidProtocolBufferException)
            {
                receiver.Unreadable++;
                return Results.BadRequest();
            }
            // An empty ExportTraceServiceResponse: everything accepted.
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        receiver.Address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return receiver;
    }

    // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
    private static IEnumerable<ReceivedSpan> ReadExport(byte[] bytes)
    {
        var spans = new List<ReceivedSpan>();
        var input = new CodedInputStream(bytes);
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 1)
            {
                ReadResourceSpans(input.ReadBytes(), spans);
            }
            else
            {
                input.SkipLastField();
            }
        }
        return spans;
    }

    // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
    // Resource { repeated KeyValue attributes = 1; }
    private static void ReadResourceSpans(ByteString bytes, List<ReceivedSpan> spans)
    {
        var resource = new Dictionary<string, string>();
        var scopes = new List<ByteString>();
        var input = bytes.CreateCodedInput();
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    var inner = input.ReadBytes().CreateCodedInput();
                    for (uint t; (t = inner.ReadTag()) != 0;)
                    {
                        if (WireFormat.GetTagFieldNumber(t) == 1)
                        {
                            var (key, value) = ReadKeyValue(inner.ReadBytes());
                            resource[key] = value;
                        }
                        else
                        {
                            inner.SkipLastField();
                        }
                    }
                    break;
                case 2:
                    scopes.Add(input.ReadBytes());
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        var (service, instance) = (resource.GetValueOrDefault("service.name", ""), resource.GetValueOrDefault("service.instance.id", ""));
        foreach (var scope in scopes)
        {
            ReadScopeSpans(scope, service, instance, spans);
        }
    }

    // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }  InstrumentationScope { string name = 1; }
    private static void ReadScopeSpans(ByteString bytes, string service, string instance, List<ReceivedSpan> spans)
    {
        var scope = "";
        var raw = new List<ByteString>();
        var input = bytes.CreateCodedInput();
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    var inner = input.ReadBytes().CreateCodedInput();
                    for (uint t; (t = inner.ReadTag()) != 0;)
                    {
                        if (WireFormat.GetTagFieldNumber(t) == 1)
                        {
                            scope = inner.ReadString();
                        }
                        else
                        {
                            inner.SkipLastField();
                        }
                    }
                    break;
                case 2:
                    raw.Add(input.ReadBytes());
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        spans.AddRange(raw.Select(s => ReadSpan(s, scope, service, instance)));
    }

    // Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; SpanKind kind = 6; repeated KeyValue attributes = 9; }
    private static ReceivedSpan ReadSpan(ByteString bytes, string scope, string service, string instance)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var kind = 0;
        var attributes = new Dictionary<string, string>();
        var input = bytes.CreateCodedInput();
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    traceId = Convert.ToHexStringLower(input.ReadBytes().Span);
                    break;
                case 2:
                    spanId = Convert.ToHexStringLower(input.ReadBytes().Span);
                    break;
                case 4:
                    parent = Convert.ToHexStringLower(input.ReadBytes().Span);
                    break;
                case 5:
                    name = input.ReadString();
                    break;
                case 6:
                    kind = input.ReadEnum();
                    break;
                case 9:
                    var (key, value) = ReadKeyValue(input.ReadBytes());
                    attributes[key] = value;
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        return new ReceivedSpan(traceId, spanId, parent, name, kind, scope, service, instance, attributes);
    }

    // KeyValue { string key = 1; AnyValue value = 2; }
    // AnyValue { oneof { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ... } }
    private static (string Key, string Value) ReadKeyValue(ByteString bytes)
    {
        var (key, value) = ("", "");
        var input = bytes.CreateCodedInput();
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    key = input.ReadString();
                    break;
                case 2:
                    var any = input.ReadBytes().CreateCodedInput();
                    for (uint t; (t = any.ReadTag()) != 0;)
                    {
                        value = WireFormat.GetTagFieldNumber(t) switch
                        {
                            1 => any.ReadString(),
                            2 => any.ReadBool() ? "true" : "false",
                            3 => any.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
                            4 => any.ReadDouble().ToString(System.Globalization.CultureInfo.InvariantCulture),
                            _ => Skip(any),
                        };
                    }
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        return (key, value);
    }

    private static string Skip(CodedInputStream input)
    {
        input.SkipLastField();
        return "";
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
