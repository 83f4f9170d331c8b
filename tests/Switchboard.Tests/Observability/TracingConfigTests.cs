using OpenTelemetry.Exporter;
using Switchboard.Config;

namespace Switchboard.Tests.Observability;

/// <summary>
/// Tracing's settings: the bootstrap's <c>tracing</c> section read and checked at start (a bad
/// value stops the start naming the key, as other bootstrap errors do), and with tracing off
/// nothing of a trace is stored, even when the caller sends a sampled <c>traceparent</c>.
/// </summary>
public sealed class TracingConfigTests : AppTests
{
    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite, catalog: TestCatalogs.ShoutOnce);
        _alice = await app.AddUserAsync("alice", 100);
        return app;
    }

    private TestUser _alice = null!;

    [Fact]
    public void TheTracingSectionNamesTheCollectorAndAnHttpCollectorGetsTheTracesPath()
    {
        var path = App.Store.WriteBootstrap("traced.yaml", lines: "tracing: {otlp_endpoint: 'http://collector:4318', otlp_protocol: http/protobuf, sample_ratio: 0.25, service_name: edge}");

        var tracing = BootstrapConfig.Load(path).Tracing;

        Assert.NotNull(tracing);
        Assert.Equal(new Uri("http://collector:4318/v1/traces"), tracing.Endpoint);
        Assert.Equal(OtlpExportProtocol.HttpProtobuf, tracing.Protocol);
        Assert.Equal(0.25, tracing.SampleRatio);
        Assert.Equal("edge", tracing.ServiceName);
        Assert.Null(BootstrapConfig.Load(App.Store.WriteBootstrap("plain.yaml")).Tracing);
    }

    [Theory]
    [InlineData("{otlp_endpoint: 'http://collector:4317', sample_ratio: 2}", "'tracing.sample_ratio' is 2; it must be a number from 0 to 1")]
    [InlineData("{otlp_endpoint: 'http://collector:4317', sample_ratio: some}", "'tracing.sample_ratio' is some; it must be a number from 0 to 1")]
    [InlineData("{otlp_endpoint: 'not a url'}", "'tracing.otlp_endpoint' must be an absolute http or https URL")]
    [InlineData("{otlp_endpoint: 'ftp://collector:4317'}", "'tracing.otlp_endpoint' must be an absolute http or https URL")]
    [InlineData("{otlp_endpoint: 'http://user:secret-pass@collector:4317'}", "'tracing.otlp_endpoint' must be an absolute http or https URL without user info")]
    [InlineData("{sample_ratio: 1}", "'tracing.otlp_endpoint' is missing")]
    [InlineData("{otlp_endpoint: 'http://collector:4317', otlp_protocol: thrift}", "'tracing.otlp_protocol' is 'thrift'; it must be grpc or http/protobuf")]
    [InlineData("{otlp_endpoint: 'http://collector:4317', sampel_ratio: 1}", "'tracing.sampel_ratio' is not a tracing setting")]
    [InlineData("on", "'tracing' must be a mapping")]
    public async Task ABadTracingSectionStopsTheStartNamingTheKey(string section, string message)
    {
        var path = App.Store.WriteBootstrap("bad-tracing.yaml", lines: $"tracing: {section}");
        var output = new StringWriter();
        var error = new StringWriter();

        Assert.Contains(message, Assert.Throws<BootstrapException>(() => BootstrapConfig.Load(path)).Message);
        // The command's start, bounded: a section read as good would start a server.
        var exit = await Switchboard.Cli.CommandLine.RunAsync(["serve", "--config", path], output, error).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, exit);
        Assert.Contains($"{path}: {message}", error.ToString());
        Assert.DoesNotContain("secret-pass", error.ToString());
    }

    [Fact]
    public async Task WithTracingOffACallersSampledTraceparentIsNotStored()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/svc/text/shout/") { Content = JsonContent.Create(new { word = "hi" }) };
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

        var response = await _alice.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = await SwitchboardFactory.IdOf(response);
        Assert.Null(App.Query(c => c.Scalar<string?>("SELECT trace_parent FROM requests WHERE id = @id", ("@id", id))));
    }
}
