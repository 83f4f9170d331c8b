using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
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
        });
        services.AddAntiforgery(o => o.Cookie.Name = "switchboard_admin_af");
        PanelKeyRing.AddPanelKeyRing(services);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<HourlyRequestCounts>();
        return services;
    }

    public static WebApplication MapAdminPanel(this WebApplication app)
    {
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

    private static async Task<IResult> Login(HttpContext http, IAntiforgery af, Store store, LoginThrottle throttle, ILoggerFactory logs)
    {
        if (!await af.IsRequestValidAsync(http))
        {
            return Bare("Refused", "<h2>Refused</h2><p>The form expired or did not come from this site. <a href=\"/admin/login\">Log in again</a>.</p>", 400);
        }
        var form = await http.Request.ReadFormAsync();
        var name = form["username"].ToString().Trim();
        var password = form["password"].ToString();
        // Behind a reverse proxy every client has the proxy's address: the per-address limit then
        // acts as the name-wide one (docs/operations.md).
        var address = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (throttle.IsLockedOut(name, address))
        {
            return LoginForm(http, $"Too many failed attempts: try again in {LoginThrottle.Lockout.TotalMinutes:0} minutes.", name, 429);
        }
        UserInfo? user;
        using (var connection = store.Open())
        {
            user = name.Length == 0 || password.Length == 0 ? null : UserStore.CheckPassword(connection, name, password);
        }
        if (user is null)
        {
            await throttle.Failed(name, address);
            logs.CreateLogger("Switchboard.Admin.Panel").LogWarning("Admin panel: failed login for {User}", name);
            return LoginForm(http, "Wrong user name or password.", name, 401);
        }
        await throttle.Succeeded(name, address);
        if (!user.IsAdmin)
        {
            return Bare("Admins only", $"<h2>Admins only</h2><p>{E(user.Name)} is not an admin: the panel is for admins.</p>", 403);
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user.Name), new Claim(ClaimTypes.NameIdentifier, user.Id), new Claim(AdminClaim, "1")], Scheme);
        await http.SignInAsync(Scheme, new ClaimsPrincipal(identity));
        return TypedResults.Redirect("/admin/");
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
