using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Switchboard.Tests.Security;

/// <summary>
/// A panel session ends <c>Switchboard:PanelSessionLifetime</c> (12 h) after its login however
/// active it was: the idle timeout slides with use, the lifetime does not. Time is a clock the
/// test moves, given to the process as its <see cref="TimeProvider"/>.
/// </summary>
public sealed class PanelSessionLifetimeTests : AppTests
{
    private sealed class MovableClock : TimeProvider
    {
        private long _ticks = DateTimeOffset.UtcNow.UtcTicks;

        public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    private readonly MovableClock _clock = new();
    private WebApplicationFactory<Program> _app = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        await PanelSession.CreateAdmin(app.Store, "root");
        // The server on the test's clock.
        _app = app.Own(app.Server.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(_clock))));
        return app;
    }

    [Fact]
    public async Task AnActiveSessionEndsTwelveHoursAfterItsLogin()
    {
        using var client = PanelApps.Client(_app, new CookieContainer());
        Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(client, "root", PanelSession.Password)).StatusCode);

        // Used every hour: the 8-hour idle timeout never runs out.
        for (var hour = 1; hour <= 11; hour++)
        {
            _clock.Advance(TimeSpan.FromHours(1));
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/admin/")).StatusCode);
        }
        _clock.Advance(TimeSpan.FromMinutes(61));
        var after = await client.GetAsync("/admin/");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.Equal("/admin/login", after.Headers.Location?.OriginalString);
    }
}
