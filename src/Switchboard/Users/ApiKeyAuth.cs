namespace Switchboard.Users;

/// <summary>Bearer API-key authentication for the client API, set once on the route group.</summary>
public static class ApiKeyAuth
{
    private const string ItemKey = "switchboard.user";

    public static RouteGroupBuilder RequireApiKey(this RouteGroupBuilder group) =>
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var header = http.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                http.Response.Headers.WWWAuthenticate = "Bearer";
                return Problems.MissingKey();
            }
            var user = http.RequestServices.GetRequiredService<ApiKeyCache>().Find(http.PresentedApiKey());
            if (user is null)
            {
                http.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
                return Problems.InvalidKey();
            }
            http.Items[ItemKey] = user;
            return await next(context);
        });

    /// <summary>The key of the <c>Authorization: Bearer</c> header (checked by the group's filter; live channels check it again later).</summary>
    public static string PresentedApiKey(this HttpContext http) => http.Request.Headers.Authorization.ToString()[7..].Trim();

    /// <summary>The caller, as authenticated by the group's filter.</summary>
    public static AuthUser User(this HttpContext http) => (AuthUser)http.Items[ItemKey]!;
}
