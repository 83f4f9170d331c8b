using Switchboard.Audit;
using Switchboard.Catalog;
using Switchboard.Config;
using Switchboard.Credits;
using Switchboard.Recon;
using Switchboard.Requests;
using Switchboard.Resources;
using Switchboard.Retention;
using Switchboard.Usage;
using Switchboard.Users;
using Switchboard.Webhooks;

namespace Switchboard.Admin;

/// <summary>
/// The admin JSON API under <c>/admin/api/</c>: the same services as the CLI, for operators'
/// scripts and (later) the admin panel. Callers authenticate with the API key of an admin user;
/// any other valid key gets 403 <c>admin_required</c>. Features add their endpoints to the group
/// this returns (<c>Map…(this RouteGroupBuilder admin)</c>).
/// </summary>
public static class AdminApi
{
    public static RouteGroupBuilder MapAdminApi(this WebApplication app)
    {
        var admin = app.MapGroup("/admin/api").WithStoreErrors().RequireApiKey().RequireJsonBodies()
            .RequiresApiKeyInOpenApi().ProducesProblem(401).ProducesProblem(403).ProducesProblem(503);
        admin.AddEndpointFilter(async (context, next) =>
            context.HttpContext.User().IsAdmin
                ? await next(context)
                : Problems.Of(403, "admin_required", "Admins only", "This endpoint needs the API key of an admin user."));
        admin.RecordAdminActions(AuditLog.Api, http => http.User().Name);
        // Each feature's admin endpoints, in the order the admin document lists them.
        admin.MapCreditsAdmin();
        admin.MapUsageAdmin();
        admin.MapResourcesAdmin();
        admin.MapCatalogAdmin();
        admin.MapHealthAdmin();
        admin.MapExecutorGroupsAdmin();
        admin.MapConfigsAdmin();
        admin.MapUsersAdmin();
        admin.MapForgetAdmin();
        admin.MapWebhooksAdmin();
        admin.MapRequestsAdmin();
        admin.MapAuditAdmin();
        return admin;
    }
}
