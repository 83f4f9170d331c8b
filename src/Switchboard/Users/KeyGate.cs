namespace Switchboard.Users;

/// <summary>
/// The checks of a key's limits that the purchase endpoints run before anything is stored or
/// charged: its scopes (403 <c>key_scope</c>) and its rpm (429 <c>key_rate_limited</c>). Its
/// expiry is the key cache's (an expired key does not authenticate: 401); its concurrency and
/// budget are the charge's unit's (<see cref="KeyCharges"/>).
/// </summary>
public static class KeyGate
{
    public const string ScopeCode = "key_scope";

    /// <param name="target">What is bought: <see cref="KeyScopes.Offer"/> or <see cref="KeyScopes.Deal"/>.</param>
    public static async Task<IResult?> RefuseAsync(HttpContext http, string target)
    {
        var user = http.User();
        if (user.Key is null)
        {
            return null;
        }
        // The key's own limits, then each key's above it (a child bought through counts for them too).
        var keys = new List<(string Prefix, KeyLimits Limits)> { (user.Key, user.Limits) };
        keys.AddRange(user.Limits.Ancestors.Select(a => (a.Prefix, a.Limits)));
        if (keys.FirstOrDefault(k => !KeyScopes.Allows(k.Limits.Scopes, target)) is { Prefix: not null } narrow)
        {
            return Problems.Of(403, ScopeCode, "The API key may not buy this",
                $"The scopes of API key {narrow.Prefix} do not include '{target}'.",
                new Dictionary<string, object?> { ["key"] = narrow.Prefix, ["scopes"] = narrow.Limits.Scopes });
        }
        var limiter = http.RequestServices.GetRequiredService<KeyRateLimiter>();
        foreach (var (prefix, limits) in keys)
        {
            if (limits.Rpm is { } rpm && await limiter.TryTakeAsync(prefix, rpm) is { } wait)
            {
                return KeyRateLimiter.Refused(http, prefix, rpm, wait);
            }
        }
        return null;
    }
}
