namespace Switchboard.Tests.Security;

/// <summary>
/// Behind a TLS-terminating proxy: the panel's cookie is <c>Secure</c> when a configured proxy
/// says the client came over https (<c>X-Forwarded-Proto</c>), and not when anyone else says so
/// (loopback is not trusted by default); the login lockout keys on the client address a
/// configured proxy forwards. Real <c>serve</c> processes on real Kestrel, reached on 127.0.0.1.
/// </summary>
public sealed class TrustedProxyTests : AppTests
{
    private SwitchboardProcess? _behindProxy;
    private SwitchboardProcess? _direct;

    protected override async Task<TestApp> StartAsync()
    {
        var trusting = await TestApp.StartAsync(StoreKind.Sqlite);
        // The deployment without a known proxy, on a store of its own.
        var plain = trusting.Own(await TestApp.StartAsync(StoreKind.Sqlite));
        await PanelSession.CreateAdmin(trusting.Store, "root");
        await PanelSession.CreateAdmin(plain.Store, "root");
        _behindProxy = await trusting.StartServeAsync("--Switchboard:KnownProxies:0=127.0.0.1");
        _direct = await plain.StartServeAsync();
        return trusting;
    }

    /// <summary>
    /// Logs in with the given forwarded headers on every request, carrying cookies by hand (a
    /// cookie container would not send a Secure cookie over http). Returns the answer to the POST.
    /// </summary>
    private static async Task<HttpResponseMessage> LogIn(SwitchboardProcess serve, string password, string? proto, string? forwardedFor)
    {
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = serve.Address };
        void Forward(HttpRequestMessage request)
        {
            if (proto is not null)
            {
                request.Headers.Add("X-Forwarded-Proto", proto);
            }
            if (forwardedFor is not null)
            {
                request.Headers.Add("X-Forwarded-For", forwardedFor);
            }
        }
        using var get = new HttpRequestMessage(HttpMethod.Get, "/admin/login");
        Forward(get);
        var form = await client.SendAsync(get);
        var cookies = string.Join("; ", form.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]));
        var html = await form.Content.ReadAsStringAsync();
        var token = WebUtility.HtmlDecode(System.Text.RegularExpressions.Regex.Match(html, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value);
        using var post = new HttpRequestMessage(HttpMethod.Post, "/admin/login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = token,
                ["username"] = "root",
                ["password"] = password,
            }),
        };
        post.Headers.Add("Cookie", cookies);
        Forward(post);
        return await client.SendAsync(post);
    }

    private static string SessionCookie(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("switchboard_admin=", StringComparison.Ordinal));
    }

    private static bool IsSecure(string setCookie) =>
        setCookie.Split(';').Any(part => part.Trim().Equals("secure", StringComparison.OrdinalIgnoreCase));

    [Fact]
    public async Task TheCookieIsSecureWhenAConfiguredProxyForwardsHttps()
    {
        Assert.True(IsSecure(SessionCookie(await LogIn(_behindProxy!, PanelSession.Password, "https", "203.0.113.4"))));
        // The same proxy forwarding plain http: not Secure (the browser would not send it back).
        Assert.False(IsSecure(SessionCookie(await LogIn(_behindProxy!, PanelSession.Password, "http", "203.0.113.4"))));
    }

    [Fact]
    public async Task ForwardedHttpsFromAnUnconfiguredProxyIsIgnored()
    {
        Assert.False(IsSecure(SessionCookie(await LogIn(_direct!, PanelSession.Password, "https", "203.0.113.4"))));
    }

    [Fact]
    public async Task TheLockoutKeysOnTheClientAddressAConfiguredProxyForwards()
    {
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await LogIn(_behindProxy!, "wrong " + i, "https", "203.0.113.66")).StatusCode);
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, (await LogIn(_behindProxy!, PanelSession.Password, "https", "203.0.113.66")).StatusCode);
        // The admin, behind the same proxy from another address, still gets in.
        Assert.Equal(HttpStatusCode.Redirect, (await LogIn(_behindProxy!, PanelSession.Password, "https", "198.51.100.20")).StatusCode);
    }

    [Fact]
    public async Task AClientCannotEscapeTheLockoutByClaimingAnotherAddress()
    {
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await LogIn(_direct!, "wrong " + i, null, $"203.0.113.{i}")).StatusCode);
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, (await LogIn(_direct!, PanelSession.Password, null, "198.51.100.20")).StatusCode);
    }
}
