using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Switchboard.Tests.Security;

/// <summary>
/// The login form gives one answer for an unknown name, a wrong password, a non-admin's right
/// password, a disabled admin's right password and an empty password, after the same work:
/// exactly one password hash each (counted, not timed). A name that matches no user is never
/// logged as typed.
/// </summary>
public sealed partial class LoginAnswersTests : AppTests
{
    private const string TypedName = "Tr0ub4dor&3-typed-in-the-name-field";

    private readonly LogSink _logs = new();
    private WebApplicationFactory<Program> _app = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        await PanelSession.CreateAdmin(app.Store, "root");
        await PanelSession.CreateAdmin(app.Store, "dave");
        await PanelApps.Ok(app.Store, "users", "create", "bob", "--password", PanelSession.Password);
        await PanelApps.Ok(app.Store, "users", "disable", "dave");
        // The server with the test's log sink among its providers.
        _app = app.Own(app.Server.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddSingleton<ILoggerProvider>(_logs))));
        return app;
    }

    [Fact]
    public async Task EveryRefusedLoginGetsTheSameAnswerAfterExactlyOneHash()
    {
        var checks = PanelApps.Checks(_app);
        var attempts = new[]
        {
            (TypedName, PanelSession.Password),   // no such user
            ("root", "not the password"),         // wrong password
            ("bob", PanelSession.Password),       // right password, not an admin
            ("dave", PanelSession.Password),      // right password, disabled
            ("root", ""),                         // no password
        };
        var pages = new List<string>();
        foreach (var (name, password) in attempts)
        {
            using var client = PanelApps.Client(_app, new CookieContainer());
            var before = checks.Computed;
            var response = await PanelSession.LogIn(client, name, password);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal(1, checks.Computed - before);
            Assert.Null(response.Headers.Location);
            // The page echoes the typed name and carries a fresh token: the rest is the same.
            var page = (await response.Content.ReadAsStringAsync()).Replace(WebUtility.HtmlEncode(name), "NAME", StringComparison.Ordinal);
            pages.Add(Token().Replace(page, "TOKEN"));
        }
        Assert.All(pages, page => Assert.Equal(pages[0], page));
        Assert.Contains("Wrong user name or password.", pages[0]);

        using var good = PanelApps.Client(_app, new CookieContainer());
        var start = checks.Computed;
        Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(good, "root", PanelSession.Password)).StatusCode);
        Assert.Equal(1, checks.Computed - start);
    }

    [Fact]
    public async Task ANameThatMatchesNoUserIsNotLoggedAsTyped()
    {
        using var client = PanelApps.Client(_app, new CookieContainer());
        Assert.Equal(HttpStatusCode.Unauthorized, (await PanelSession.LogIn(client, TypedName, "whatever it is")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PanelSession.LogIn(client, "root", "wrong")).StatusCode);

        var messages = _logs.Messages.ToList();
        Assert.Contains(messages, m => m.Contains("failed login for an unknown user name", StringComparison.Ordinal));
        Assert.DoesNotContain(messages, m => m.Contains("Tr0ub4dor", StringComparison.Ordinal));
        // A known name is logged: the admin it belongs to may need to know.
        Assert.Contains(messages, m => m.Contains("failed login for root (wrong password)", StringComparison.Ordinal));
    }

    [GeneratedRegex("value=\"[^\"]{20,}\"")]
    private static partial Regex Token();

    private sealed class LogSink : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Enqueue(formatter(state, exception));

        public void Dispose()
        {
        }
    }
}
