namespace Switchboard.Admin.Panel;

/// <summary>
/// What a POST did, shown once on the page it redirects to (<c>?done=CODE</c>). Only the codes
/// below are shown, with texts from here: a link cannot make the panel say anything else. A page
/// whose notice says numbers (bulk actions) passes them as query values (<c>&amp;n=</c>, <c>&amp;skipped=</c>), shown as numbers only.
/// </summary>
public static partial class PanelNotices
{
    public static readonly IReadOnlyDictionary<string, string> Texts = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["saved"] = "Saved.",
        ["deleted"] = "Deleted.",
        ["enabled"] = "Enabled.",
        ["disabled"] = "Disabled.",
        ["created"] = "Created.",
        ["credits"] = "Credits moved; the ledger below shows the entry.",
        ["revoked"] = "Key revoked: it no longer authenticates.",
        ["renamed"] = "User renamed: its keys, credits and ledger are unchanged.",
        ["madeadmin"] = "Admin rights granted.",
        ["notadmin"] = "Admin rights removed: its panel sessions end.",
        ["retried"] = "Queued again as a new run (charged again).",
        ["cancelled"] = "Cancelled and refunded.",
        ["rolledback"] = "Rolled back: the chosen version is active again.",
        ["pushed"] = "Pushed: the new version is active.",
        ["redelivered"] = "Queued for delivery again.",
        ["bulkretried"] = "Requests queued again (each charged again): {n}. Skipped (changed since the confirmation): {skipped}. Refused (credits, catalog or resources; nothing changed): {refused}.",
        ["bulkcancelled"] = "Requests cancelled and refunded: {n}. Skipped (finished since the confirmation): {skipped}.",
    };

    /// <summary>
    /// The text for <paramref name="code"/>, each <c>{name}</c> in it filled with the query value
    /// <c>name</c> read as a whole number (or "?"): a link can change a count, never the words.
    /// Null for an unknown code.
    /// </summary>
    public static string? For(string? code, Func<string, string?> value) =>
        code is not null && Texts.TryGetValue(code, out var text)
            ? Placeholder().Replace(text, m => long.TryParse(value(m.Groups[1].Value), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
                ? count.ToString("#,0", System.Globalization.CultureInfo.InvariantCulture)
                : "?")
            : null;

    [System.Text.RegularExpressions.GeneratedRegex(@"\{([a-z]+)\}")]
    private static partial System.Text.RegularExpressions.Regex Placeholder();
}
