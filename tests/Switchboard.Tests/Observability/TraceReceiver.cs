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
    private static List<ReceivedSpan> ReadExport(byte[] bytes)
    {
        var spans = new List<ReceivedSpan>();
        ReadFields(UnsafeByteOperations.UnsafeWrap(bytes), (1, input => ReadResourceSpans(input.ReadBytes(), spans)));
        return spans;
    }

    // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
    // Resource { repeated KeyValue attributes = 1; }
    private static void ReadResourceSpans(ByteString bytes, List<ReceivedSpan> spans)
    {
        var resource = new Dictionary<string, string>();
        var scopes = new List<ByteString>();
        ReadFields(bytes,
            (1, input => ReadFields(input.ReadBytes(), (1, attribute => ReadKeyValue(attribute, resource)))),
            (2, input => scopes.Add(input.ReadBytes())));
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
        ReadFields(bytes,
            (1, input => ReadFields(input.ReadBytes(), (1, name => scope = name.ReadString()))),
            (2, input => raw.Add(input.ReadBytes())));
        spans.AddRange(raw.Select(s => ReadSpan(s, scope, service, instance)));
    }

    // Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; SpanKind kind = 6; repeated KeyValue attributes = 9; }
    private static ReceivedSpan ReadSpan(ByteString bytes, string scope, string service, string instance)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var kind = 0;
        var attributes = new Dictionary<string, string>();
        ReadFields(bytes,
            (1, input => traceId = Hex(input)),
            (2, input => spanId = Hex(input)),
            (4, input => parent = Hex(input)),
            (5, input => name = input.ReadString()),
            (6, input => kind = input.ReadEnum()),
            (9, input => ReadKeyValue(input, attributes)));
        return new ReceivedSpan(traceId, spanId, parent, name, kind, scope, service, instance, attributes);
    }

    private static string Hex(CodedInputStream input) => Convert.ToHexStringLower(input.ReadBytes().Span);

    // KeyValue { string key = 1; AnyValue value = 2; }
    // AnyValue { oneof { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ... } }
    // Another kind of value (array, map, bytes) is read as "".
    private static void ReadKeyValue(CodedInputStream input, Dictionary<string, string> into)
    {
        var (key, value) = ("", "");
        ReadFields(input.ReadBytes(),
            (1, keyValue => key = keyValue.ReadString()),
            (2, keyValue => ReadFields(keyValue.ReadBytes(),
                (1, any => value = any.ReadString()),
                (2, any => value = any.ReadBool() ? "true" : "false"),
                (3, any => value = any.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture)),
                (4, any => value = any.ReadDouble().ToString(System.Globalization.CultureInfo.InvariantCulture)))));
        into[key] = value;
    }

    // The one loop over a message's fields, in the order they come: a field with a reader is read
    // by it, any other (a field these tests do not need, or one a newer OTLP adds) is skipped.
    private static void ReadFields(ByteString message, params (int Field, Action<CodedInputStream> Read)[] readers)
    {
        var input = message.CreateCodedInput();
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            var field = WireFormat.GetTagFieldNumber(tag);
            var read = Array.Find(readers, r => r.Field == field).Read;
            if (read is null)
            {
                input.SkipLastField();
            }
            else
            {
                read(input);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
