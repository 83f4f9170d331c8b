using Switchboard.Outbound;

namespace Switchboard.Tests.Security;

/// <summary>
/// Real connections through the guarded handler to a fake server on 127.0.0.1: refused in every
/// spelling of loopback with the default settings (the fake never sees a call), let through when
/// the process allows loopback, and a redirect is returned, never followed.
/// </summary>
public sealed class OutboundGuardConnectionTests : IAsyncLifetime
{
    private FakeOpenAi _server = null!;
    private FakeOpenAi _redirectTarget = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeOpenAi.StartAsync();
        _server.Fallback = _ => FakeReply.Text(200, "reached");
        _redirectTarget = await FakeOpenAi.StartAsync();
        _redirectTarget.Fallback = _ => FakeReply.Text(200, "followed");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _redirectTarget.DisposeAsync();
    }

    private int Port => new Uri(_server.Address).Port;

    private static HttpClient Client(OutboundOptions options) => new(OutboundGuard.CreateHandler(options)) { Timeout = TimeSpan.FromSeconds(20) };

    public static TheoryData<string> LoopbackHosts => ["127.0.0.1", "localhost", "2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]"];

    [Theory]
    [MemberData(nameof(LoopbackHosts))]
    public async Task EverySpellingOfLoopbackIsRefusedWithTheDefaultSettings(string host)
    {
        using var client = Client(new OutboundOptions());

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync($"http://{host}:{Port}/v1/models"));

        Assert.True(OutboundGuard.WasRefused(refused), refused.ToString());
        Assert.DoesNotContain("127.0.0.1", refused.InnerException!.Message);
        Assert.Empty(_server.Calls);
    }

    [Theory]
    [MemberData(nameof(LoopbackHosts))]
    public async Task EverySpellingOfLoopbackConnectsWhenTheProcessAllowsLoopback(string host)
    {
        using var client = Client(new OutboundOptions { AllowLoopback = true });

        var response = await client.GetAsync($"http://{host}:{Port}/v1/models");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(_server.Calls);
    }

    [Fact]
    public async Task AllowingPrivateNetworksDoesNotAllowLoopback()
    {
        using var client = Client(new OutboundOptions { AllowPrivateNetworks = true });

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync($"http://localhost:{Port}/"));

        Assert.True(OutboundGuard.WasRefused(refused));
        Assert.Empty(_server.Calls);
    }

    [Fact]
    public async Task ARedirectIsReturnedNotFollowed()
    {
        _server.Fallback = _ => FakeReply.Text(302, "").WithHeader("Location", _redirectTarget.Address + "/internal");
        using var client = Client(new OutboundOptions { AllowLoopback = true });

        var response = await client.GetAsync($"http://127.0.0.1:{Port}/v1/models");

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Empty(_redirectTarget.Calls);
    }
}
