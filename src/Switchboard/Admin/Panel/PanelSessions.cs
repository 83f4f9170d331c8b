using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Storage;
using Switchboard.Users;

namespace Switchboard.Admin.Panel;

/// <summary>
/// Checks every panel request's session against the store, the source of truth for every api
/// process: the user still exists, is an admin, is not disabled and has the security stamp the
/// session was opened with (a new password, admin rights removed or the user disabled give it a
/// new one); and the session is younger than <see cref="SwitchboardOptions.PanelSessionLifetime"/>
/// since its login, however often the idle timeout slid. A session that fails is signed out. The
/// store is read at most once per <see cref="CacheFor"/> per user, so a change ends sessions on
/// every process within about that long plus a request.
/// </summary>
public sealed class PanelSessions(Store store, TimeProvider time, IOptions<SwitchboardOptions> options) : CookieAuthenticationEvents
{
    public const string StampClaim = "switchboard:stamp";
    public const string LoginAtClaim = "switchboard:login_at";
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, (SecurityState? State, long ReadAt)> _states = new(StringComparer.Ordinal);

    /// <summary>The claims a new session carries beside the name and id.</summary>
    public Claim[] SessionClaims(LoginRecord user) =>
    [
        new(StampClaim, user.Stamp),
        new(LoginAtClaim, time.GetUtcNow().ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    public override async Task ValidatePrincipal(CookieValidatePrincipalContext context)
    {
        var principal = context.Principal;
        var id = principal?.FindFirstValue(ClaimTypes.NameIdentifier);
        var stamp = principal?.FindFirstValue(StampClaim);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var young = long.TryParse(principal?.FindFirstValue(LoginAtClaim), out var loginAt)
            && now - loginAt < (long)options.Value.PanelSessionLifetime.TotalMilliseconds;
        if (id is null || stamp is null || !young || State(id) is not { IsAdmin: true, Disabled: false } state || state.Stamp != stamp)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(AdminPanel.Scheme);
        }
    }

    // The cache runs on the machine's monotonic clock, not on the session clock (which tests move).
    private SecurityState? State(string userId)
    {
        var now = Environment.TickCount64;
        if (_states.TryGetValue(userId, out var cached) && now - cached.ReadAt < (long)CacheFor.TotalMilliseconds)
        {
            return cached.State;
        }
        SecurityState? state;
        using (var connection = store.Open())
        {
            state = UserSecurity.State(connection, userId);
        }
        _states[userId] = (state, now);
        return state;
    }
}
