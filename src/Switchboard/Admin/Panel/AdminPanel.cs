using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Identity;
using Switchboard.Audit;
using Switchboard.Storage;
using Switchboard.Users;
using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>
/// The admin panel under <c>/admin/</c>: server-rendered HTML, a login form checked against the
/// users' password hashes, a cookie of its own scheme (the API keys of <c>/svc</c> and
/// <c>/admin/api</c> are untouched), antiforgery on every form, admins only.
/// </summary>
public static class AdminPanel
{
    public const string Scheme = "SwitchboardAdmin";
    private const string AdminClaim = "switchboard:admin";

    public static IServiceCollection AddAdminPanel(this IServiceCollection services)
    {
        services.AddAuthentication().AddCookie(Scheme, o =>
        {
            o.Cookie.Name = "switchboard_admin";
            o.Cookie.Path = "/admin";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.LoginPath = "/admin/login";
            o.ExpireTimeSpan = TimeSpan.FromHours(8);
            o.SlidingExpiration = true;
            // Secure whenever the client's scheme is https, as UseForwardedHeaders sets it from a
            // trusted proxy (Hosting/TrustedProxies.cs).
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.EventsType = typeof(PanelSessions);
        });
        services.AddOptions<CookieAuthenticationOptions>(Scheme).Configure<TimeProvider>((o, time) => o.TimeProvider = time);
        services.AddSingleton<PanelSessions>();
        services.AddSingleton<PasswordChecks>();
        services.AddAntiforgery(o => o.Cookie.Name = "switchboard_admin_af");
        PanelKeyRing.AddPanelKeyRing(services);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<HourlyRequestCounts>();
        return services;
    }

    public static WebApplication MapAdminPanel(this WebApplication app)
    {
        app.Use(SecurityHeaders);
        app.MapGet("/admin/panel.css", () => TypedResults.Text(Css.Value, "text/css; charset=utf-8"));
        app.MapGet("/admin/login", (HttpContext http) => LoginForm(http, null, ""));
        app.MapPost("/admin/login", Login);
        app.MapPost("/admin/logout", Logout);
        var panel = app.MapGroup("/admin").AddEndpointFilter(AdminsOnly).RecordAdminActions(AuditLog.Panel, SignedIn);
        panel.MapGet("/", async (HttpContext http, IServiceProvider services) => Frame(http, "Dashboard", await Dashboard.Render(services)));
        panel.MapHandlersPage();
        panel.MapOffersPage();
        panel.MapDealsPage();
        panel.MapUsersPage();
        panel.MapRequestsPage();
        panel.MapConfigsPage();
        panel.MapResourcesPage();
        return app;
    }

    private const string UserItem = "switchboard.panel.user";

    /// <summary>The signed-in admin's name (set by <see cref="AdminsOnly"/> for every panel page).</summary>
    public static string SignedIn(HttpContext http) => http.Items[UserItem] as string ?? "";

    /// <summary>
    /// Every page of the group: a signed-in admin, or the login page; and every POST carries a
    /// valid antiforgery token, or nothing is done.
    /// </summary>
    private static async ValueTask<object?> AdminsOnly(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var result = await http.AuthenticateAsync(Scheme);
        if (!result.Succeeded || !result.Principal.HasClaim(AdminClaim, "1"))
        {
            return TypedResults.Redirect("/admin/login");
        }
        http.Items[UserItem] = result.Principal.Identity?.Name ?? "";
        if (HttpMethods.IsPost(http.Request.Method) && !await http.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(http))
        {
            return Frame(http, "Refused", "<section class=\"card\"><p>The form expired or did not come from this site: nothing was changed. Go back, reload the page and try again.</p></section>", 400);
        }
        return await next(context);
    }

    /// <summary>
    /// The panel's pages run no script and load nothing from elsewhere; they may not be framed,
    /// post forms elsewhere or leak their URLs (request ids, names) to other sites.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

    private static Task SecurityHeaders(HttpContext http, RequestDelegate next)
    {
        if (http.Request.Path.StartsWithSegments("/admin") && !http.Request.Path.StartsWithSegments("/admin/api"))
        {
            var headers = http.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "same-origin";
        }
        return next(http);
    }

    private static readonly Lazy<string> Css = new(() =>
    {
        using var stream = typeof(AdminPanel).Assembly.GetManifestResourceStream("panel.css")!;
        return new StreamReader(stream).ReadToEnd();
    });

    private static IResult LoginForm(HttpContext http, string? error, string name, int status = 200) =>
        Bare("Log in", $"""
            <h2>Log in</h2>
            {(error is null ? "" : $"<p class=\"alert\" role=\"alert\">{E(error)}</p>")}
            <form method="post" action="/admin/login" class="stack">{Token(http)}
            <label>User name<input name="username" autocomplete="username" required value="{E(name)}"></label>
            <label>Password<input name="password" type="password" autocomplete="current-password" required></label>
            <button class="btn primary" type="submit">Log in</button></form>
            """, status);

    /// <summary>
    /// One answer (401, the same page) for an unknown name, a wrong password, a disabled user and
    /// a non-admin's right password, after the same work: the attempt is counted by the throttle
    /// first, then exactly one password hash is computed (an unknown name's against a dummy).
    /// </summary>
    private static async Task<IResult> Login(HttpContext http, IAntiforgery af, Store store, LoginThrottle throttle, PasswordChecks checks,
        PanelSessions sessions, ILoggerFactory logs)
    {
        if (!await af.IsRequestValidAsync(http))
        {
            return Bare("Refused", "<h2>Refused</h2><p>The form expired or did not come from this site. <a href=\"/admin/login\">Log in again</a>.</p>", 400);
        }
        var form = await http.Request.ReadFormAsync();
        var name = form["username"].ToString().Trim();
        var password = form["password"].ToString();
        // The client's address, or the one a trusted proxy forwarded (Hosting/TrustedProxies.cs).
        // Behind an untrusted proxy every client has the proxy's address: the per-address limit
        // then acts as the name-wide one (docs/operations.md).
        var address = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (!await checks.TryEnter())
        {
            http.Response.Headers.RetryAfter = "2";
            return LoginForm(http, "Too many logins at once: try again in a few seconds.", name, 503);
        }
        try
        {
            if (!await throttle.TryReserve(name, address))
            {
                return LoginForm(http, $"Too many failed attempts: try again in {LoginThrottle.Lockout.TotalMinutes:0} minutes.", name, 429);
            }
            LoginRecord? user;
            using (var connection = store.Open())
            {
                user = UserSecurity.ForLogin(connection, name);
            }
            var result = checks.Verify(user?.PasswordHash, password);
            if (user is not { IsAdmin: true, Disabled: false } || result == PasswordVerificationResult.Failed)
            {
                LogFailure(logs.CreateLogger("Switchboard.Admin.Panel"), name, user, result);
                return LoginForm(http, "Wrong user name or password.", name, 401);
            }
            if (result == PasswordVerificationResult.SuccessRehashNeeded)
            {
                var stronger = PasswordHashes.Hash(password);
                await store.WriteAsync(c => UserSecurity.Rehash(c, user.Id, user.PasswordHash!, stronger));
            }
            await throttle.Succeeded(name, address);
            var identity = new ClaimsIdentity(
                [new Claim(ClaimTypes.Name, user.Name), new Claim(ClaimTypes.NameIdentifier, user.Id), new Claim(AdminClaim, "1"), .. sessions.SessionClaims(user)],
                Scheme);
            await http.SignInAsync(Scheme, new ClaimsPrincipal(identity));
            return TypedResults.Redirect("/admin/");
        }
        finally
        {
            checks.Exit();
        }
    }

    // Per process: the same typed name gives the same key in this process's logs, so repeated
    // guesses can be told apart without the name (often a password typed in the wrong field).
    private static readonly byte[] NameKey = RandomNumberGenerator.GetBytes(32);

    private static void LogFailure(ILogger logger, string name, LoginRecord? user, PasswordVerificationResult result)
    {
        if (user is null)
        {
            logger.LogWarning("Admin panel: failed login for an unknown user name (key {NameKey})",
                Convert.ToHexStringLower(HMACSHA256.HashData(NameKey, Encoding.UTF8.GetBytes(name)))[..16]);
            return;
        }
        var why = result == PasswordVerificationResult.Failed ? "wrong password" : user.Disabled ? "user disabled" : "not an admin";
        logger.LogWarning("Admin panel: failed login for {User} ({Reason})", user.Name, why);
    }

    private static async Task<IResult> Logout(HttpContext http, IAntiforgery af)
    {
        if (!await af.IsRequestValidAsync(http))
        {
            return Bare("Refused", "<h2>Refused</h2><p>The form expired. <a href=\"/admin/\">Back</a>.</p>", 400);
        }
        await http.SignOutAsync(Scheme);
        return TypedResults.Redirect("/admin/login");
    }
}
