using System.Globalization;
using System.Text.RegularExpressions;
using Switchboard.Errors;
using Switchboard.Queue;
using Switchboard.Users;
using Switchboard.Fairness;

namespace Switchboard.Requests;

/// <summary>
/// A purchase's priority (0–9), resolved at submit: the offer's level (<c>params.priority</c>,
/// default 5; a deal's is 5) shifted by the user's (or its plan's) priority,
/// <c>clamp(offer + (user − 5))</c>. A <c>Priority: N</c> header replaces it when N is at most
/// <c>max(that, the user's max_priority)</c>; asking lower is always allowed.
/// </summary>
public static partial class RequestPriority
{
    public const string Header = "Priority";

    /// <summary>The level without a header.</summary>
    public static int Default(int offerLevel, AuthUser user) => Priorities.Clamp(offerLevel + (user.Priority - Priorities.Default));

    /// <summary>
    /// The priority, or a problem: 400 <c>invalid_priority</c> for a header that is not a whole
    /// number from 0 to 9, 403 <c>priority_not_allowed</c> above what the user may ask. Checked
    /// before anything is written or charged.
    /// </summary>
    public static (int Priority, IResult? Problem) Resolve(HttpContext http, AuthUser user, int offerLevel)
    {
        var level = Default(offerLevel, user);
        var values = http.Request.Headers[Header];
        if (values.Count == 0)
        {
            return (level, null);
        }
        var text = values.Count == 1 ? values[0]!.Trim() : null;
        if (text is not null && TransportHint().IsMatch(text))
        {
            // RFC 9218's `Priority: u=3, i`, which browsers send on their own over HTTP/2 and 3:
            // the transport's hint, not a request for a level.
            return (level, null);
        }
        if (text is not { Length: 1 } || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var asked))
        {
            return (0, Problems.Of(400, "invalid_priority", "The Priority header is not valid", "A whole number from 0 (lowest) to 9 (highest)."));
        }
        var allowed = Math.Max(level, user.MaxPriority);
        if (asked > allowed)
        {
            return (0, Problems.Of(403, "priority_not_allowed", "This priority is not allowed", $"At most {allowed} for this purchase.",
                new Dictionary<string, object?> { ["max_priority"] = allowed }));
        }
        return (asked, null);
    }

    // An RFC 9218 Structured Fields dictionary of its two parameters: u=0..7 and i (?0, ?1).
    [GeneratedRegex(@"\A(?:u=[0-7]|i(?:=\?[01])?)(?:\s*,\s*(?:u=[0-7]|i(?:=\?[01])?))*\z")]
    private static partial Regex TransportHint();
}
