using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Identity;
using Switchboard.Admin.Panel.Components;
using Switchboard.Admin.Panel.Components.Pages.Users;
using Switchboard.Admin.Panel.Components.Pages.Requests;
using Switchboard.Audit;
using Switchboard.Storage;
using Switchboard.Users;

namespace Switchboard.Admin.Panel;

/// <summary>
/// The admin panel under <c>/admin/</c>: Razor components rendered on the server
/// (<c>Components/</c>), a login form checked against the users' password hashes
/// (<see cref="PanelLogin"/>), a cookie of its own scheme (the API keys of <c>/svc</c> and
/// <c>/admin/api</c> are untouched), the framework's antiforgery on every form, admins only
/// (<see cref="PanelGate"/>).
/// </summary>
public static class AdminPanel
{
    public const string Scheme = "SwitchboardAdmin";
    internal const string AdminClaim = "switchboard:admin";

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
        services.AddSingleton<PanelLogin>();
        services.AddRazorComponents();
        return services;
    }

    public static WebApplication MapAdminPanel(this WebApplication app)
    {
        app.Use(SecurityHeaders);
        app.MapGet("/admin/panel.css", () => TypedResults.Text(Css.Value, "text/css; charset=utf-8"));
        // The framework validates the antiforgery token of every form posted to a page (the
        // components' endpoints require one); the gate answers a refusal and does the rest.
        app.UseAntiforgery();
        app.UseWhen(http => PanelGate.Covers(http.Request.Path), panel => panel.UseMiddleware<PanelGate>());
        app.MapRazorComponents<App>();
        app.MapUserLedgerCsv();
        app.MapRequestsCsv();
        return app;
    }

    private const string UserItem = "switchboard.panel.user";

    /// <summary>The signed-in admin's name (set by <see cref="PanelGate"/> for every panel page).</summary>
    public static string SignedIn(HttpContext http) => http.Items[UserItem] as string ?? "";

    internal static void SetSignedIn(HttpContext http, string name) => http.Items[UserItem] = name;

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
}
