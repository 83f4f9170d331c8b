using Microsoft.AspNetCore.Components;

namespace Switchboard.Admin.Panel.Components.Shared;

/// <summary>
/// A coloured label for a status or a flag (<c>@Badge.Of(r.Status)</c>). A fragment of its
/// page's render tree, not a component: lists show one per row, and a component per row cost more
/// than the row's own markup (bench/README.md, "This build against a baseline in the same run").
/// </summary>
public static class Badge
{
    public static RenderFragment Of(string text, string? tone = null) => builder =>
    {
        builder.OpenElement(0, "span");
        builder.AddAttribute(1, "class", "badge " + (tone ?? ToneOf(text)));
        builder.AddContent(2, text);
        builder.CloseElement();
    };

    /// <summary>Whether a catalog entry answers on /svc now: "live", or "not live" in the failure tone.</summary>
    public static RenderFragment Live(bool live) => live ? Of("live") : Of("not live", "bad");

    public static string ToneOf(string text) => text switch
    {
        "succeeded" or "enabled" or "active" or "live" or "delivered" or "closed" => "ok",
        "failed" or "disabled" or "revoked" or "dead" or "open" => "bad",
        "running" or "queued" or "waiting" or "pending" or "half-open" => "info",
        _ => "",
    };
}
