namespace Switchboard.Users;

/// <summary>Bearer API-key authentication for the client API, set once on the route group.</summary>
public static class ApiKeyAuth
{
    private const string ItemKey = "switchboard.user";

    public static RouteGroupBuilder RequireApiKey(this RouteGroupBuilder group) =>
        group.AddEndpointFilter(async (context, next) =>
            Authenticate(context.HttpContext) ?? await next(context));

    /// <summary>
    /// Checks the <c>Authorization: Bearer</c> header and keeps its user for <see cref="User"/>;
    /// the problem to answer when it is missing or not a valid key, else null. The group's filter,
    /// and the one endpoint that also takes another credential (the event stream's token).
    /// </summary>
    public static IResult? Authenticate(HttpContext http)
    {
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
        return null;
    }

    /// <summary>Whether a request carries an <c>Authorization</c> header at all.</summary>
    public static bool HasAuthorization(this HttpContext http) => http.Request.Headers.Authorization.Count > 0;

    /// <summary>The key of the <c>Authorization: Bearer</c> header (checked by the group's filter; live channels check it again later).</summary>
    public static string PresentedApiKey(this HttpContext http) => http.Request.Headers.Authorization.ToString()[7..].Trim();

    /// <summary>The caller, as authenticated by the group's filter.</summary>
    public static AuthUser User(this HttpContext http) => (AuthUser)http.Items[ItemKey]!;
}
