using Switchboard.Tests.Distributed;

namespace Switchboard.Tests.Observability;

/// <summary>
/// Traces across processes: an api and an executor as OS processes (PostgreSQL and Redis),
/// each exporting OTLP/HTTP to a receiver the test owns on 127.0.0.1 (the api configured by
/// the bootstrap's <c>tracing</c> section, the executor by the standard <c>OTEL_*</c>
/// variables). One request's trace holds the api's POST span and, as its children, the
/// executor's queue wait, claim, execute (with the upstream HTTP call inside) and outcome.
/// </summary>
public sealed class TraceAcrossProcessesTests() : ProcessTestBase(Catalog)
{
    private static readonly string Catalog = """
        handlers:
          - {id: openai.chat, credits: 1}
        offers:
          - {service: talk, action: chat, handler: openai.chat, price: 1, prompt_template: "Say {word}", params: {model: m}}
        """;

    private FakeOpenAi? _upstream;
    private TraceReceiver? _receiver;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_upstream is not null)
        {
            await _upstream.DisposeAsync();
        }
        if (_receiver is not null)
        {
            await _receiver.DisposeAsync();
        }
    }

    // Export every 100 ms instead of every 5 s: the spans arrive while the test waits.
    private static readonly Dictionary<string, string> QuickExport = new() { ["OTEL_BSP_SCHEDULE_DELAY"] = "100" };

    private string? StoredTraceParent(string id) =>
        Store.Query(c => c.Scalar<string?>("SELECT trace_parent FROM requests WHERE id = @id", ("@id", id)));

    private string StatusOf(string id) =>
        Store.Query(c => c.Scalar<string>("SELECT status FROM requests WHERE id = @id", ("@id", id))) ?? "missing";

    [Fact]
    public async Task OneTraceFollowsARequestFromTheApisPostThroughTheExecutorsClaimUpstreamCallAndOutcome()
    {
        _receiver = await TraceReceiver.StartAsync();
        _upstream = await FakeOpenAi.StartAsync();
        _upstream.Fallback = call => call.Body.Contains("Say refuse", StringComparison.Ordinal)
            ? FakeReply.Error(400, "refused")
            : FakeReply.Choices("hello");
        await Infrastructure.Cli.PushOpenAiEndpoint(Store, _upstream.BaseUrl);
        var tracedBootstrap = Store.WriteBootstrap("traced.yaml", lines: $"tracing: {{otlp_endpoint: '{_receiver.Address}', otlp_protocol: http/protobuf}}");
        var api = await Start("api", QuickExport, "--config", tracedBootstrap);
        var executor = await Start("executor", new Dictionary<string, string>(QuickExport)
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = _receiver.Address,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        });

        using var client = api.Client(Key);
        var id = await client.SubmitAsync("/svc/talk/chat/", new { word = "hello" });
        await Wait.Until(() => StatusOf(id) == "succeeded", TimeSpan.FromSeconds(30), () => $"the request to succeed; it is {StatusOf(id)}");

        // The row holds the api's POST span as a W3C traceparent: version-trace id-span id-flags (sampled bit set).
        var stored = StoredTraceParent(id);
        Assert.NotNull(stored);
        var parts = stored.Split('-');
        Assert.Equal(4, parts.Length);
        Assert.Equal(1, Convert.ToInt32(parts[3], 16) & 1);
        var (traceId, postSpanId) = (parts[1], parts[2]);
        List<ReceivedSpan> Trace() => [.. _receiver.Spans.Where(s => s.TraceId == traceId)];
        await Wait.Until(() => Trace().Any(s => s.Name == "outcome") && Trace().Any(s => s.SpanId == postSpanId),
            TimeSpan.FromSeconds(20), () => $"the trace's spans to arrive; got {string.Join(", ", Trace().Select(s => $"{s.Service}/{s.Name}"))}");
        var trace = Trace();

        // The api's server span is the stored parent, exported by the api process.
        var post = Assert.Single(trace, s => s.SpanId == postSpanId);
        Assert.Equal("switchboard-api", post.Service);
        Assert.Equal(2, post.Kind); // SPAN_KIND_SERVER
        Assert.StartsWith("POST", post.Name, StringComparison.Ordinal);
        Assert.Equal(id, post.Attribute("switchboard.request_id"));

        // The executor's spans, from the other process, are its children, each naming the request.
        var executorSpans = trace.Where(s => s.Service == "switchboard-executor").ToList();
        Assert.NotEqual(post.Instance, Assert.Single(executorSpans.Select(s => s.Instance).Distinct()));
        foreach (var name in new[] { "queue wait", "claim", "execute", "outcome" })
        {
            var span = Assert.Single(executorSpans, s => s.Name == name);
            Assert.Equal(postSpanId, span.ParentSpanId);
            Assert.Equal(id, span.Attribute("switchboard.request_id"));
            Assert.Equal("openai.chat", span.Attribute("switchboard.handler"));
        }
        Assert.Equal("succeeded", executorSpans.Single(s => s.Name == "outcome").Attribute("switchboard.outcome"));

        // The handler's upstream call is a client span inside execute, and the upstream got the trace's context.
        var execute = executorSpans.Single(s => s.Name == "execute");
        var upstreamCall = Assert.Single(executorSpans, s => s.ParentSpanId == execute.SpanId && s.Kind == 3); // SPAN_KIND_CLIENT
        Assert.Equal(new Uri(_upstream.Address).Port.ToString(System.Globalization.CultureInfo.InvariantCulture), upstreamCall.Attribute("server.port"));
        Assert.Contains(traceId, Assert.Single(_upstream.Calls).Header("traceparent"));

        // A failure's log line, written inside the outcome span, names its trace and span.
        var refused = await client.SubmitAsync("/svc/talk/chat/", new { word = "refuse" });
        await Wait.Until(() => StatusOf(refused) == "failed", TimeSpan.FromSeconds(30), () => $"the refused request to fail; it is {StatusOf(refused)}");
        var refusedTrace = StoredTraceParent(refused)!.Split('-')[1];
        await Wait.Until(() => _receiver.Spans.Any(s => s.TraceId == refusedTrace && s.Name == "outcome"), TimeSpan.FromSeconds(20), "the failure's outcome span");
        var outcome = _receiver.Spans.Single(s => s.TraceId == refusedTrace && s.Name == "outcome");
        Assert.Equal("failed", outcome.Attribute("switchboard.outcome"));
        var line = Assert.Single(executor.Logs, e => e["Message"]?.GetValue<string>().StartsWith("Request failed", StringComparison.Ordinal) == true);
        Assert.Equal(refusedTrace, line["TraceId"]?.GetValue<string>());
        Assert.Equal(outcome.SpanId, line["SpanId"]?.GetValue<string>());
        Assert.Equal(0, _receiver.Unreadable);
    }
}
