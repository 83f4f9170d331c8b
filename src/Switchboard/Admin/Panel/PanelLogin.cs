using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Switchboard.Users;

namespace Switchboard.Admin.Panel;

/// <summary>
/// A login attempt of the panel's login page: one answer (401, the same text) for an unknown
/// name, a wrong password, a disabled user and a non-admin's right password, after the same work:
/// the attempt is counted by the throttle first, then exactly one password hash is computed (an
/// unknown name's against a dummy). On success the admin's cookie is issued.
/// </summary>
public sealed class PanelLogin(Store store, LoginThrottle throttle, PasswordChecks checks, PanelSessions sessions, ILogger<PanelLogin> logger)
{
    /// <summary>(200, null) when signed in; otherwise the status and the text to show.</summary>
    public async Task<(int Status, string? Error)> TryLogIn(HttpContext http, string name, string password)
    {
        // The client's address, or the one a trusted proxy forwarded (Hosting/TrustedProxies.cs).
        // Behind an untrusted proxy every client has the proxy's address: the per-address limit
        // then acts as the name-wide one (docs/operations.md).
        var address = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (!await checks.TryEnter())
        {
            http.Response.Headers.RetryAfter = "2";
            return (StatusCodes.Status503ServiceUnavailable, "Too many logins at once: try again in a few seconds.");
        }
        try
        {
            if (!await throttle.TryReserve(name, address))
            {
                return (StatusCodes.Status429TooManyRequests, $"Too many failed attempts: try again in {LoginThrottle.Lockout.TotalMinutes:0} minutes.");
            }
            LoginRecord? user;
            using (var connection = store.Open())
            {
                user = UserSecurity.ForLogin(connection, name);
            }
            var result = checks.Verify(user?.PasswordHash, password);
            if (user is not { IsAdmin: true, Disabled: false } || result == PasswordVerificationResult.Failed)
            {
                LogFailure(name, user, result);
                return (StatusCodes.Status401Unauthorized, "Wrong user name or password.");
            }
            if (result == PasswordVerificationResult.SuccessRehashNeeded)
            {
                var stronger = PasswordHashes.Hash(password);
                await store.WriteAsync(c => UserSecurity.Rehash(c, user.Id, user.PasswordHash!, stronger));
            }
            await throttle.Succeeded(name, address);
            var identity = new ClaimsIdentity(
                [new Claim(ClaimTypes.Name, user.Name), new Claim(ClaimTypes.NameIdentifier, user.Id), new Claim(AdminPanel.AdminClaim, "1"), .. sessions.SessionClaims(user)],
                AdminPanel.Scheme);
            await http.SignInAsync(AdminPanel.Scheme, new ClaimsPrincipal(identity));
            return (StatusCodes.Status200OK, null);
        }
        finally
        {
            checks.Exit();
        }
    }

    // Per process: the same typed name gives the same key in this process's logs, so repeated
    // guesses can be told apart without the name (often a password typed in the wrong field).
    private static readonly byte[] NameKey = RandomNumberGenerator.GetBytes(32);

    private void LogFailure(string name, LoginRecord? user, PasswordVerificationResult result)
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
}
