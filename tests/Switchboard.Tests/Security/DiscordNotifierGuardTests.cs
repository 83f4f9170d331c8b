using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Config;
using Switchboard.Recon;

namespace Switchboard.Tests.Security;

/// <summary>
/// The Discord notifier goes through the outbound guard with the process's settings: a loopback
/// webhook is refused by default (no store: the notifier alone).
/// </summary>
public sealed class DiscordNotifierGuardTests : IAsyncLifetime
{
    private FakeOpenAi _fake = null!;

    public async Task InitializeAsync() => _fake = await FakeOpenAi.StartAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    [Fact]
    public async Task TheDiscordNotifierRefusesALoopbackWebhookWithTheDefaultSettings()
    {
        var config = ReconConfig.Defaults with { DiscordWebhook = _fake.Address + "/api/webhooks/1/token" };
        using var notifier = new DiscordNotifier(() => config, NullLogger<DiscordNotifier>.Instance);
        await notifier.StartAsync(CancellationToken.None);
        try
        {
            notifier.Post(new AlertNotice(true, "queue_depth", "global", "deep queue", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));

            await Wait.Until(() => notifier.Refused > 0, TimeSpan.FromSeconds(20), "the notice to be refused");
            Assert.Equal(0, notifier.Delivered);
            Assert.Empty(_fake.Calls);
        }
        finally
        {
            await notifier.StopAsync(CancellationToken.None);
        }
    }
}
