using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Primitives;
using Switchboard.Admin.Panel.Components.Pages;
using Switchboard.Audit;

namespace Switchboard.Admin.Panel;

/// <summary>
/// In front of every panel page (all of <c>/admin</c> but <c>/admin/api</c>): anyone but a
/// signed-in admin is sent to the login page (the login page and the stylesheet are open); a POST
/// whose antiforgery token the framework found invalid (<c>UseAntiforgery</c>) is refused with a
/// page saying nothing was changed, before any page runs; a POST without a <c>_handler</c> field
/// (a script's, not a browser's) names the form the last segment of its path, so every action's
/// URL is its contract; and every accepted POST of a signed-in admin is recorded in the audit
/// trail once the page has answered.
/// </summary>
public sealed class PanelGate(RequestDelegate next)
{
    public const string LoginPath = "/admin/login";

    public static bool Covers(PathString path) =>
        path.StartsWithSegments("/admin") && !path.StartsWithSegments("/admin/api");

    public async Task InvokeAsync(HttpContext http, IAntiforgery antiforgery)
    {
        var path = http.Request.Path;
        var open = path.Equals(LoginPath) || path.Equals("/admin/panel.css");
        if (!open)
        {
            var result = await http.AuthenticateAsync(AdminPanel.Scheme);
            if (!result.Succeeded || !result.Principal.HasClaim(AdminPanel.AdminClaim, "1"))
            {
                http.Response.Redirect(LoginPath);
                return;
            }
            AdminPanel.SetSignedIn(http, result.Principal.Identity?.Name ?? "");
        }
        http.Response.OnStarting(RelativeRedirect, http);
        if (!HttpMethods.IsPost(http.Request.Method))
        {
            await next(http);
            return;
        }
        // The framework's middleware validated the token for every page (the components' endpoints require it).
        var valid = http.Features.Get<IAntiforgeryValidationFeature>()?.IsValid ?? await antiforgery.IsRequestValidAsync(http);
        if (!valid)
        {
            await new RazorComponentResult<Refused>(new { SignedIn = !open }) { StatusCode = StatusCodes.Status400BadRequest }.ExecuteAsync(http);
            return;
        }
        if (http.Request.HasFormContentType)
        {
            var form = await http.Request.ReadFormAsync(http.RequestAborted);
            if (!form.ContainsKey("_handler"))
            {
                var fields = form.ToDictionary(f => f.Key, f => f.Value, StringComparer.OrdinalIgnoreCase);
                fields["_handler"] = new StringValues(path.Value![(path.Value!.TrimEnd('/').LastIndexOf('/') + 1)..].TrimEnd('/'));
                http.Request.Form = new FormCollection(fields, form.Files);
            }
        }
        if (open)
        {
            await next(http);
            return;
        }
        await AuditFilters.RecordAfter(http, AuditLog.Panel, AdminPanel.SignedIn(http), () => next(http));
    }

    /// <summary>
    /// The framework's redirects (NavigationManager) name the whole URL; the panel's own are
    /// paths, so they hold behind a proxy that rewrites the host, as they did before the components.
    /// </summary>
    private static Task RelativeRedirect(object state)
    {
        var http = (HttpContext)state;
        if (http.Response.Headers.Location is [{ } location] && Uri.TryCreate(location, UriKind.Absolute, out var uri)
            && string.Equals(uri.Authority, http.Request.Host.Value, StringComparison.OrdinalIgnoreCase))
        {
            http.Response.Headers.Location = uri.PathAndQuery;
        }
        return Task.CompletedTask;
    }
}
